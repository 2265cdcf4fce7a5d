// Applies the saved theme ("light" or "dark"; absent = follow the system) before first
// paint, so a reload never flashes the wrong colours. A classic script on purpose.
(function () {
  try {
    var saved = localStorage.getItem("telesniff.theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.dataset.theme = saved;
    }
  } catch (error) {
    // Storage may be disabled; the system preference applies.
  }
})();
