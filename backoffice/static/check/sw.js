/* Keeps /check working offline: every GET the page makes is answered from the network
 * when there is one (and kept), else from the cache the page filled (check.js). */
"use strict";
var CACHE = "sadasya-check-v1";

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) {
    return;
  }
  // a final roll's file (a megabyte or more): numbers.js keeps the copies that verify
  if (new URL(request.url).pathname.indexOf("/check/rolls/") >= 0) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.open(CACHE).then(function (cache) {
      return cache.match(request, {ignoreVary: true}).then(function (hit) {
        return hit || Response.error();
      });
    });
  }));
});
