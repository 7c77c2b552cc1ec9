// Copy buttons: <button data-copy="ID" hidden> copies the value of the field #ID and
// says so in #ID-status. Without JavaScript the button stays hidden and the field,
// read-only, can still be selected and copied by hand.
(function () {
  "use strict";
  var COPIED = "Copied to the clipboard.";
  var BY_HAND = "Selected: press Ctrl+C (⌘C on a Mac) to copy.";

  function setUp(button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) return;
    var status = document.getElementById(field.id + "-status");

    function say(text) {
      if (status) status.textContent = text;
    }

    function copyBySelection() {
      field.focus();
      field.select();
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (error) {
        copied = false;
      }
      say(copied ? COPIED : BY_HAND);
    }

    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () { say(COPIED); }, copyBySelection);
      } else {
        copyBySelection();
      }
    });
    // A click in the field selects all of it, so a copy by hand takes the whole value.
    field.addEventListener("focus", function () { field.select(); });
    button.hidden = false;
  }

  document.querySelectorAll("button[data-copy]").forEach(setUp);
})();
