/* A typed membership number on the card checker (/check): looked up on this phone in
 * the signed final-roll files it downloaded (services/roll_check.py), never sent
 * anywhere. A list whose signature fails is refused and the last good one kept; the
 * answer names the date of the list it comes from (docs/cards.md, "A typed number"). */
(function () {
  "use strict";
  var root = document.getElementById("checker");
  var form = document.getElementById("number-form");
  if (!root || !form || !window.sadasyaKeys || !window.sadasyaBytes) { return; }
  // Only lists whose signature held are kept here (the service worker's own cache
  // keeps whatever the network answered, for the page's offline loads).
  var VERIFIED = "sadasya-check-rolls-v1";
  var INDEX_CONTEXT = new TextEncoder().encode("sadasya-rolls-v1:");
  var ROLL_CONTEXT = new TextEncoder().encode("sadasya-roll-v1:");
  var indexUrl = root.dataset.rollsUrl, rollUrlPattern = root.dataset.rollUrl;
  var prefix = root.dataset.prefix || "";
  var result = document.getElementById("result");
  var status = document.getElementById("rolls-status");

  function rollUrl(id) { return rollUrlPattern.replace("ROLL", String(id)); }
  var unb64u = window.sadasyaBytes.unb64u, b64u = window.sadasyaBytes.b64u;  // check.js
  var concat = window.sadasyaBytes.concat;
  function text(id) { return document.getElementById(id).textContent; }

  // -- the membership number, as services/membership_numbers.py reads a typed one ----
  var D = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]];
  var P = [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8]];

  // The member id of "CG000123454", "cg 0001-2345-4" or "123454" (leading zeros left
  // out), or null: the Verhoeff check digit catches a mistyped digit or a swap.
  function parseNumber(typed) {
    var compact = (typed || "").replace(/[\s\-\/.]+/g, "").toUpperCase();
    if (prefix && compact.indexOf(prefix) === 0) { compact = compact.slice(prefix.length); }
    if (!/^[0-9]{2,9}$/.test(compact)) { return null; }
    while (compact.length < 9) { compact = "0" + compact; }
    var check = 0;
    for (var i = 0; i < 9; i++) {
      check = D[check][P[i % 8][compact.charCodeAt(8 - i) - 48]];
    }
    if (check !== 0) { return null; }
    var id = parseInt(compact.slice(0, 8), 10);
    return id > 0 ? {id: id, number: prefix + compact} : null;
  }

  // -- the signed lists ---------------------------------------------------------------
  var keys = {};
  var held = null;  // {index, revoked: Set, files: {roll id: {header, body, start}}}
  var refused = false;  // the last refresh met a list whose signature failed

  function verifyIndex(signed) {
    if (!signed || !keys[signed.kid]) { return Promise.resolve(null); }
    var body;
    try { body = unb64u(signed.list); } catch (e) { return Promise.resolve(null); }
    return crypto.subtle.verify({name: "Ed25519"}, keys[signed.kid], unb64u(signed.sig),
                                concat(INDEX_CONTEXT, body)).then(function (ok) {
      return ok ? JSON.parse(new TextDecoder().decode(body)) : null;
    }, function () { return null; });
  }

  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buffer) {
      return new Uint8Array(buffer);
    });
  }

  // A roll file's body if its signature holds and it is the roll asked for, else null.
  function verifyRoll(data, rollId) {
    if (data.length < 69 || data[0] !== 1) { return Promise.resolve(null); }
    var key = keys[b64u(data.slice(1, 5))];
    if (!key) { return Promise.resolve(null); }
    var compressed = data.slice(69);
    return crypto.subtle.verify({name: "Ed25519"}, key, data.slice(5, 69),
                                concat(ROLL_CONTEXT, compressed)).then(function (ok) {
      if (!ok) { return null; }
      return inflate(compressed).then(function (body) {
        var newline = body.indexOf(10);
        var header = JSON.parse(new TextDecoder().decode(body.subarray(0, newline)));
        return header.roll === rollId ? {header: header, body: body, start: newline + 1,
                                         raw: data} : null;
      });
    }).catch(function () { return null; });
  }

  function fetchBytes(url, mode) {
    return fetch(url, {cache: mode}).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.arrayBuffer();
    }).then(function (buffer) { return new Uint8Array(buffer); });
  }

  // The files an index names, verified: those held already are reused (a final roll
  // never changes), the others read from `source`. Null if one is missing or refused.
  function filesFor(index, source) {
    var files = {}, jobs = index.rolls.map(function (roll) {
      if (held && held.files[roll.id]) { files[roll.id] = held.files[roll.id];
        return Promise.resolve(true); }
      return source(rollUrl(roll.id)).then(function (data) {
        return data ? verifyRoll(data, roll.id).then(function (file) {
          if (!file) { refused = true; return false; }
          files[roll.id] = file;
          return true;
        }) : false;
      }, function () { return false; });
    });
    return Promise.all(jobs).then(function (found) {
      return found.every(Boolean) ? files : null;
    });
  }

  function when(iso) {
    return new Date(iso).toLocaleString("en-IN", {timeZone: "Asia/Kolkata"});
  }

  function adopt(index, files) {
    held = {index: index, revoked: new Set(index.revoked), files: files};
  }

  function showStatus() {
    status.textContent = held ? text("t-rolls-date") + " " + when(held.index.issued)
      : text("t-rolls-none");
    if (held) { status.dataset.issued = held.index.issued; }
    if (refused) { status.textContent += " " + text("t-rolls-refused"); }
    status.dataset.refused = refused ? "1" : "0";
    root.dataset.rollsReady = held ? "1" : "0";
  }

  function keep(signed, files) {
    return caches.open(VERIFIED).then(function (cache) {
      var jobs = [cache.put(indexUrl, new Response(JSON.stringify(signed)))];
      Object.keys(files).forEach(function (id) {
        jobs.push(cache.put(rollUrl(id), new Response(files[id].raw)));
      });
      return Promise.all(jobs).then(function () { return cache.keys(); })
        .then(function (requests) {  // files of rolls a newer election replaced
          var wanted = Object.keys(files).map(function (id) {
            return new URL(rollUrl(id), location.href).href; });
          wanted.push(new URL(indexUrl, location.href).href);
          return Promise.all(requests.filter(function (request) {
            return wanted.indexOf(request.url) < 0;
          }).map(function (request) { return cache.delete(request); }));
        });
    }).catch(function () {});
  }

  // The lists this phone kept, checked again before use.
  function loadKept() {
    return caches.open(VERIFIED).then(function (cache) {
      return cache.match(indexUrl).then(function (hit) { return hit ? hit.json() : null; })
        .then(function (signed) {
          return verifyIndex(signed).then(function (index) {
            if (!index) { return null; }
            return filesFor(index, function (url) {
              return cache.match(url).then(function (hit) {
                return hit ? hit.arrayBuffer().then(function (b) { return new Uint8Array(b); })
                  : null;
              });
            }).then(function (files) { if (files) { adopt(index, files); } });
          });
        });
    }).catch(function () {});
  }

  // The newest lists when there is a network; a refused one leaves the kept ones.
  function refresh() {
    refused = false;
    return fetch(indexUrl, {cache: "no-store"}).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (signed) {
      return verifyIndex(signed).then(function (index) {
        if (!index) { refused = true; return null; }
        if (held && held.index.issued > index.issued) { return null; }  // an older copy
        return filesFor(index, function (url) { return fetchBytes(url, "no-cache"); })
          .then(function (files) {
            if (!files) { return null; }
            adopt(index, files);
            return keep(signed, files);
          });
      });
    }, function () { return null; })  // offline: the kept lists answer
      .then(showStatus);
  }

  var ready = window.sadasyaKeys().then(function (known) { keys = known; })
    .then(loadKept).then(refresh);

  // -- the answer ------------------------------------------------------------------------
  // [booth, serial] of a member id in a roll file, or null: one pass over the varints.
  function find(file, target) {
    var body = file.body, position = file.start, booths = file.header.booths;
    for (var b = 0; b < booths.length; b++) {
      var previous = 0;
      for (var serial = 1; serial <= booths[b][1]; serial++) {
        var value = 0, scale = 1, byte;
        do { byte = body[position++]; value += (byte & 127) * scale; scale *= 128; }
        while (byte >= 128);
        if (value) {
          previous += value % 2 === 0 ? value / 2 : -(value + 1) / 2;
          if (previous === target) { return [booths[b][0], serial]; }
        }
      }
    }
    return null;
  }

  function fill(node, values) {
    node.querySelectorAll("[data-field]").forEach(function (field) {
      field.textContent = String(values[field.dataset.field]);  // text only
    });
    return node;
  }

  function show(kind, number, hits) {
    result.textContent = "";
    result.dataset.verdict = kind;
    result.appendChild(document.getElementById("t-" + kind).content.cloneNode(true));
    if (number) {
      result.appendChild(fill(document.getElementById("t-number").content.cloneNode(true),
                              {number: number}));
    }
    (hits || []).forEach(function (hit) {
      result.appendChild(fill(document.getElementById("t-roll-line").content.cloneNode(true), {
        title: hit.roll.title,
        unit: hit.roll.unit.filter(function (v, i, all) { return all.indexOf(v) === i; })
          .join(" / "),
        booth: hit.booth, serial: hit.serial}));
    });
    if (held && kind !== "mistyped") {
      var issued = when(held.index.issued);
      var asOf = document.getElementById("t-as-of").content.cloneNode(true);
      asOf.querySelectorAll("[data-as-of]").forEach(function (line) {
        line.textContent = line.textContent.replace(/\{date\}/g, issued);
      });
      result.appendChild(asOf);
    }
  }

  function lookUp(typed) {
    var parsed = parseNumber(typed);
    if (!parsed) { show("mistyped", null, null); return "mistyped"; }
    if (!held) { show("no-list", parsed.number, null); return "no-list"; }
    if (!held.index.rolls.length) { show("no-rolls", parsed.number, null); return "no-rolls"; }
    var hits = [];
    held.index.rolls.forEach(function (roll) {
      var found = find(held.files[roll.id], parsed.id);
      if (found) { hits.push({roll: roll, booth: found[0], serial: found[1]}); }
    });
    var kind = !hits.length ? "not-on-roll"
      : held.revoked.has(parsed.id) ? "number-revoked" : "on-roll";
    show(kind, parsed.number, hits);
    return kind;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    result.textContent = "";
    delete result.dataset.verdict;
    var typed = document.getElementById("number").value;
    ready = ready.then(refresh, refresh);  // the newest lists when there is a network
    ready.then(function () { lookUp(typed); });
  });
})();
