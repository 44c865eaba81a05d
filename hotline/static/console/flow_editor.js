// Flow editor: line numbers beside the text, a debounced check as the operator types, and
// problems that move the cursor to their line when clicked. The page works without it too.
(function () {
  "use strict";
  var form = document.getElementById("flow-form");
  var source = document.getElementById("flow-source");
  if (!form || !source || !window.fetch) { return; }
  var gutter = document.getElementById("gutter");
  var problemList = document.getElementById("problem-list");
  var preview = document.getElementById("preview");
  var state = document.getElementById("lint-state");
  var words = document.getElementById("editor-words").dataset;
  var token = form.querySelector("input[name=csrf_token]").value;
  var languageChoice = document.getElementById("preview-language");
  var timer = null;
  var sent = 0;

  function lineCount() { return source.value.split("\n").length; }

  function drawGutter(marks) {
    var count = lineCount();
    var rows = [];
    for (var n = 1; n <= count; n += 1) {
      var mark = marks && marks[n];
      rows.push(mark ? '<span class="mark-' + mark + '">' + n + "</span>" : String(n));
    }
    gutter.innerHTML = rows.join("\n") + "\n";
    gutter.scrollTop = source.scrollTop;
  }

  function marksFrom(problems) {
    var marks = {};
    problems.forEach(function (problem) {
      if (marks[problem.line] !== "error") { marks[problem.line] = problem.severity; }
    });
    return marks;
  }

  function goToLine(line) {
    var lines = source.value.split("\n");
    var target = Math.max(1, Math.min(line, lines.length));
    var start = 0;
    for (var i = 0; i < target - 1; i += 1) { start += lines[i].length + 1; }
    source.focus();
    source.setSelectionRange(start, start + lines[target - 1].length);
    var height = parseFloat(window.getComputedStyle(source).lineHeight) || 18;
    source.scrollTop = Math.max(0, (target - 4) * height);
    gutter.scrollTop = source.scrollTop;
    source.dataset.cursorLine = String(target);
  }

  function filterPreview() {
    var chosen = languageChoice ? languageChoice.value : "";
    preview.querySelectorAll(".preview-lang").forEach(function (block) {
      block.hidden = chosen !== "" && block.dataset.lang !== chosen;
    });
  }

  function check() {
    var mine = ++sent;
    state.textContent = words.checking;
    form.dataset.linting = "yes";
    fetch(form.dataset.lintUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify({ source: source.value })
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (result) {
      if (mine !== sent) { return; }  // an older answer arriving after a newer one
      problemList.innerHTML = result.problems_html;
      preview.innerHTML = result.preview_html;
      filterPreview();
      drawGutter(marksFrom(result.problems));
      state.textContent = words.checked;
      form.dataset.linting = "";
      form.dataset.errors = String(result.errors);
    }).catch(function () {
      if (mine !== sent) { return; }
      state.textContent = words.failed;
      form.dataset.linting = "";
    });
  }

  source.addEventListener("input", function () {
    drawGutter(null);
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  });
  source.addEventListener("scroll", function () { gutter.scrollTop = source.scrollTop; });
  source.addEventListener("keydown", function (event) {
    // Tab indents with two spaces (YAML has no tabs) instead of leaving the text box.
    if (event.key === "Tab" && !event.shiftKey) {
      event.preventDefault();
      var at = source.selectionStart;
      source.setRangeText("  ", at, source.selectionEnd, "end");
      source.dispatchEvent(new Event("input"));
    }
  });
  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-line]");
    if (target && (problemList.contains(target) || preview.contains(target))) {
      goToLine(parseInt(target.dataset.line, 10));
    }
  });
  if (languageChoice) { languageChoice.addEventListener("change", filterPreview); }
  drawGutter(marksFrom(Array.prototype.map.call(problemList.querySelectorAll("[data-line]"), function (item) {
    return { line: parseInt(item.dataset.line, 10),
             severity: item.parentNode.className.indexOf("error") >= 0 ? "error" : "warning" };
  })));
})();
