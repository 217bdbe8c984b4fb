// Pages whose work runs as a job look again until it is done. A file, not an inline
// script: the Content-Security-Policy runs no inline script without the page's nonce.
(function () {
  "use strict";

  function interval(box) {
    return Number(box.dataset.pollMs) || 3000;
  }

  // <div data-reload-while="#roll-files tr[data-state=running]" data-poll-ms="3000">:
  // while the selector finds something (a file still being prepared), reload the page
  // after a while, so its link shows when it is ready.
  document.querySelectorAll("[data-reload-while]").forEach(function (box) {
    if (!document.querySelector(box.dataset.reloadWhile)) return;
    setTimeout(function () { window.location.reload(); }, interval(box));
  });

  // <div data-progress-url="..." data-status="checking" data-busy="checking committing">
  // with a [data-progress-processed] inside: while the status is busy, ask the URL for
  // {status, processed}, show the rows read, and reload once the status is no longer busy.
  document.querySelectorAll("[data-progress-url]").forEach(function (box) {
    var busy = (box.dataset.busy || "").split(" ");
    if (busy.indexOf(box.dataset.status) < 0) return;
    var processed = box.querySelector("[data-progress-processed]");
    var timer = setInterval(function () {
      fetch(box.dataset.progressUrl, {credentials: "same-origin"})
        .then(function (answer) { return answer.json(); })
        .then(function (progress) {
          if (processed) processed.textContent = progress.processed.toLocaleString("en-IN");
          if (busy.indexOf(progress.status) < 0) {
            clearInterval(timer);
            window.location.reload();
          }
        });
    }, interval(box));
  });
})();
