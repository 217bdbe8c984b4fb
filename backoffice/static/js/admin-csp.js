// Flask-Admin's pages without inline event handlers or javascript: URLs, which the
// Content-Security-Policy refuses (docs/security-headers.md). Our copies of its
// templates (admin/actions.html, admin/model/row_actions.html, admin/model/layout.html)
// carry data attributes instead; this file gives them their behaviour.
(function () {
  "use strict";

  function closest(event, selector) {
    return event.target && event.target.closest ? event.target.closest(selector) : null;
  }

  // Flask-Admin draws tabs, dropdown toggles, filter names and the current page as
  // href="javascript:void(0)": there is nothing to follow, and following it would be
  // refused. Bootstrap's and Flask-Admin's own click handlers still run.
  document.addEventListener("click", function (event) {
    if (closest(event, 'a[href^="javascript:"]')) event.preventDefault();
  }, true);

  // "With selected" actions: <a data-model-action="approve"> (was onclick="return
  // modelActions.execute('approve')"); actions.js asks for the confirmation.
  document.addEventListener("click", function (event) {
    var item = closest(event, "[data-model-action]");
    if (!item || !window.modelActions) return;
    event.preventDefault();
    window.modelActions.execute(item.dataset.modelAction);
  });

  // Forms that ask first, e.g. a row's delete: <form data-confirm="Are you sure...?">
  // (was onclick="return faHelpers.safeConfirm(...)" on its button).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.faHelpers.safeConfirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  });
})();
