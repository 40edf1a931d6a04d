(function () {
  var box = document.getElementById("search");
  var shown = document.getElementById("shown");
  if (!box || !shown) { return; }
  var items = document.querySelectorAll("ul.rules li");
  function filter() {
    var q = box.value.trim().toLowerCase();
    var n = 0;
    for (var i = 0; i < items.length; i++) {
      var hit = q === "" || items[i].getAttribute("data-title").indexOf(q) !== -1;
      items[i].hidden = !hit;
      if (hit) { n++; }
    }
    shown.textContent = String(n);
  }
  box.addEventListener("input", filter);
  filter();
})();
