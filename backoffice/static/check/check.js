/* The membership card checker (/check): verifies a card's signed statement in the
 * browser with WebCrypto Ed25519 against the public key and the signed revocation
 * list, both kept in the Cache API for offline use. Nothing typed or scanned leaves
 * the phone: the only requests are for the key and the list (docs/cards.md). */
(function () {
  "use strict";
  var root = document.getElementById("checker");
  if (!root) { return; }
  var CACHE = "sadasya-check-v1";
  var PREFIX = "SD1.";
  var REVOKED_CONTEXT = new TextEncoder().encode("sadasya-revoked-v1:");
  var keyUrl = root.dataset.keyUrl, revokedUrl = root.dataset.revokedUrl;
  var result = document.getElementById("result");
  var listStatus = document.getElementById("list-status");

  function unb64u(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function b64u(bytes) {
    var bin = "";
    for (var i = 0; i < bytes.length; i++) { bin += String.fromCharCode(bytes[i]); }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a, 0); out.set(b, a.length);
    return out;
  }

  // Network first (fresh key and list), the cached copy when offline.
  function fetchJson(url) {
    return fetch(url, {cache: "no-store"}).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      var copy = response.clone();
      return caches.open(CACHE).then(function (cache) { return cache.put(url, copy); })
        .then(function () { return response.json(); });
    }).catch(function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(url); })
        .then(function (cached) { return cached ? cached.json() : null; });
    });
  }

  var keys = {};  // kid -> CryptoKey
  var revoked = null;  // Set of card ids, or null when no list could be read

  function importKeys(doc) {
    var jobs = ((doc && doc.keys) || []).map(function (entry) {
      return crypto.subtle.importKey("raw", unb64u(entry.key), {name: "Ed25519"}, false,
                                     ["verify"]).then(function (key) { keys[entry.kid] = key; });
    });
    return Promise.all(jobs);
  }

  function loadList() {
    return fetchJson(revokedUrl).then(function (signed) {
      if (!signed || !keys[signed.kid]) { return null; }
      var body = unb64u(signed.list);
      return crypto.subtle.verify({name: "Ed25519"}, keys[signed.kid], unb64u(signed.sig),
                                  concat(REVOKED_CONTEXT, body)).then(function (ok) {
        if (!ok) { return null; }
        var list = JSON.parse(new TextDecoder().decode(body));
        revoked = new Set(list.revoked);
        listStatus.textContent = document.getElementById("t-list-date").textContent + " " +
          new Date(list.issued).toLocaleString("en-IN", {timeZone: "Asia/Kolkata"});
        listStatus.dataset.issued = list.issued;
        return list;
      });
    }).then(function (list) {
      if (!list) { listStatus.textContent = document.getElementById("t-list-none").textContent; }
    });
  }

  var ready = fetchJson(keyUrl).then(importKeys).then(loadList);

  function show(kind, payload) {
    result.textContent = "";
    result.dataset.verdict = kind;
    result.appendChild(document.getElementById("t-" + kind).content.cloneNode(true));
    if (payload) {
      var details = document.getElementById("t-details").content.cloneNode(true);
      details.querySelectorAll("[data-field]").forEach(function (dd) {
        var value = payload[dd.dataset.field];
        if (Array.isArray(value)) { value = value.filter(function (v, i, all) {
          return all.indexOf(v) === i; }).join(" / "); }
        if (dd.dataset.field === "d" && value) { value = value.split("-").reverse().join("/"); }
        if (value === undefined) { dd.previousElementSibling.remove(); dd.remove(); return; }
        dd.textContent = String(value);  // text only: a statement never becomes markup
      });
      result.appendChild(details);
    }
  }

  // "valid" | "revoked" | "forged" | "unreadable", and the payload when the signature holds.
  function verify(text) {
    text = (text || "").trim();
    if (text.indexOf(PREFIX) !== 0) { return Promise.resolve({verdict: "unreadable"}); }
    var data;
    try { data = unb64u(text.slice(PREFIX.length)); } catch (e) {
      return Promise.resolve({verdict: "unreadable"});
    }
    if (data.length < 1 + 4 + 2 + 64 || data[0] !== 1) {
      return Promise.resolve({verdict: "unreadable"});
    }
    var key = keys[b64u(data.slice(1, 5))];
    if (!key) { return Promise.resolve({verdict: "forged"}); }
    var signed = data.slice(0, data.length - 64), signature = data.slice(data.length - 64);
    return crypto.subtle.verify({name: "Ed25519"}, key, signature, signed).then(function (ok) {
      if (!ok) { return {verdict: "forged"}; }
      var payload;
      try { payload = JSON.parse(new TextDecoder("utf-8", {fatal: true}).decode(signed.slice(5))); }
      catch (e) { return {verdict: "forged"}; }
      if (revoked && revoked.has(payload.c)) { return {verdict: "revoked", payload: payload}; }
      return {verdict: "valid", payload: payload};
    });
  }

  function check(text) {
    result.textContent = "";
    delete result.dataset.verdict;
    return ready.then(function () { return verify(text); }).then(function (outcome) {
      show(outcome.verdict, outcome.payload);
      return outcome.verdict;
    });
  }
  window.sadasyaCheck = check;  // the QR scanner hands its text here
  // the byte helpers, for the typed number's signed lists (numbers.js)
  window.sadasyaBytes = {unb64u: unb64u, b64u: b64u, concat: concat};
  // the keys by id, once read, for the typed number's lists (numbers.js)
  window.sadasyaKeys = function () {
    return ready.then(function () { return keys; }, function () { return keys; });
  };

  document.getElementById("check-form").addEventListener("submit", function (event) {
    event.preventDefault();
    // the newest list when there is a network, the kept one when not
    ready = ready.then(loadList, loadList);
    check(document.getElementById("statement").value);
  });

  function keepForOffline() {
    navigator.serviceWorker.register(root.dataset.workerUrl, {scope: root.dataset.pageUrl})
      .then(function () {
        // the page's own styles and scripts, kept for offline use alongside the worker's
        var urls = [root.dataset.pageUrl, keyUrl, revokedUrl];
        document.querySelectorAll("link[rel=stylesheet], script[src]").forEach(function (el) {
          urls.push(el.href || el.src);
        });
        return caches.open(CACHE).then(function (cache) { return cache.addAll(urls); });
      }).then(function () { root.dataset.offlineReady = "1"; })
      .catch(function () { root.dataset.offlineReady = "0"; });
  }
  if ("serviceWorker" in navigator) {
    // after every script tag of the page has been read, so that all are kept
    if (document.readyState === "complete") { keepForOffline(); }
    else { window.addEventListener("load", keepForOffline); }
  }
})();
