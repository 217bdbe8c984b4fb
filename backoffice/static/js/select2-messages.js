/* select2 3.5's own messages (its search box and the screen reader's live region) in
   the page's language: the translated texts come from this script tag's data
   attributes, which the template fills through gettext. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !window.jQuery || !jQuery.fn.select2) { return; }
  var text = script.dataset;
  jQuery.extend(jQuery.fn.select2.defaults, {
    formatMatches: function (count) {
      return count === 1 ? text.one : text.many.replace("%n", count);
    },
    formatNoMatches: function () { return text.none; },
    formatSearching: function () { return text.searching; },
    formatInputTooShort: function (input, min) {
      return text.tooShort.replace("%n", min - input.length);
    },
    formatLoadMore: function () { return text.more; },
    formatAjaxError: function () { return text.failed; }
  });
}());
