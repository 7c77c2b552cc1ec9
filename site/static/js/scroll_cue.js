// A table wider than its box scrolls inside it: show a shadow on each side that has
// more columns, and a line of text under the table, while there is more to see.
(function () {
  "use strict";
  function frame(box) {
    let outer = box.parentElement;
    if (!outer.classList.contains("scroll-frame")) {
      outer = document.createElement("div");
      outer.className = "scroll-frame";
      box.parentElement.insertBefore(outer, box);
      outer.appendChild(box);
    }
    let hint = outer.previousElementSibling;
    if (!hint || !hint.classList.contains("scroll-hint")) {
      hint = document.createElement("p");
      hint.className = "scroll-hint";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = "Scroll the table sideways for more columns →";
      outer.before(hint);
    }
    function update() {
      const more = box.scrollWidth - box.clientWidth;
      outer.classList.toggle("more-left", more > 1 && box.scrollLeft > 1);
      outer.classList.toggle("more-right", more > 1 && box.scrollLeft < more - 1);
      hint.hidden = more <= 1;
      if (more > 1 && !box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
    }
    box.addEventListener("scroll", update, { passive: true });
    window.addEventListener("resize", update);
    update();
  }
  document.querySelectorAll(".table-scroll").forEach(frame);
})();
