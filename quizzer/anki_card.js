// quizzer's card script: typed answers checked and multiple choice tapped, on the card.
// The same script ends the front and the back of every quizzer note type. Where it cannot
// run (no JavaScript, no storage between the sides) the card is what it was without it:
// reveal the answer and grade yourself. Never write two braces in a row here: Anki would
// read them as a field.
(function () {
  "use strict";

  // --- the comparison rules of quizzer.answers (review, check, add) ------------------
  var SUFFIXES = __SUFFIXES__;

  function normalize(text) {
    var lines = String(text).replace(/\r\n/g, "\n").split("\n").map(function (line) {
      return line.replace(/ +$/, "");
    });
    while (lines.length && !lines[lines.length - 1]) {
      lines.pop();
    }
    return lines.join("\n");
  }

  function exceptionType(line) {
    var match = /^([A-Za-z_][\p{L}\p{N}_.]*)(?::(?: .*)?)?$/u.exec(line);
    if (!match) {
      return null;
    }
    var name = match[1];
    var short = name.split(".").pop();
    for (var i = 0; i < SUFFIXES.length; i++) {
      var end = SUFFIXES[i];
      if (short.length >= end.length && short.slice(short.length - end.length) === end) {
        return name;
      }
    }
    return null;
  }

  function matches(expected, typed) {
    var want = normalize(expected);
    var got = normalize(typed);
    if (want === got) {
      return true;
    }
    var wantLines = want.split("\n");
    var gotLines = got.split("\n");
    if (wantLines.length !== gotLines.length) {
      return false;
    }
    var last = wantLines.length - 1;
    for (var i = 0; i < last; i++) {
      if (wantLines[i] !== gotLines[i]) {
        return false;
      }
    }
    var kind = exceptionType(wantLines[last]);
    return kind !== null && wantLines[last] !== kind && gotLines[last] === kind;
  }

  window.quizzerAnswers = { normalize: normalize, exceptionType: exceptionType, matches: matches };

  // --- front to back ---------------------------------------------------------------------
  // Desktop Anki and AnkiMobile keep the page (and window) between the two sides; AnkiDroid
  // loads each side afresh, where sessionStorage carries the state. A page still loading
  // (AnkiDroid) is read once it is whole: the back's script inside {FrontSide} comes
  // before the <hr id="answer"> that tells the two sides apart.
  var key = null;
  var card = null;

  function storage() {
    try {
      return window.sessionStorage || null;
    } catch (e) {
      return null;
    }
  }

  function save(state) {
    window.quizzerState = window.quizzerState || {};
    window.quizzerState[key] = state;
    var store = storage();
    if (store) {
      try {
        store.setItem(key, JSON.stringify(state));
      } catch (e) {
        // Private mode or full: the window still carries it on most clients.
      }
    }
  }

  function load() {
    if (window.quizzerState && window.quizzerState[key]) {
      return window.quizzerState[key];
    }
    var store = storage();
    try {
      return store ? JSON.parse(store.getItem(key) || "null") : null;
    } catch (e) {
      return null;
    }
  }

  function verdict(right, text) {
    var shown = document.createElement("div");
    shown.className = "verdict " + (right ? "right" : "wrong");
    shown.textContent = text;
    var rule = document.getElementById("answer");
    rule.parentNode.insertBefore(shown, rule.nextSibling);
  }

  function reveal() {
    // The desktop's and AnkiDroid's "show answer"; elsewhere the learner taps it.
    if (typeof window.pycmd === "function") {
      window.pycmd("ans");
    } else if (typeof window.showAnswer === "function") {
      window.showAnswer();
    }
  }

  // --- predict the output: a textarea checked as review checks ---------------------------
  function predictFront() {
    var area = card.querySelector("textarea.quizzer-typed");
    if (!area) {
      return;
    }
    area.parentNode.hidden = false;
    var anki = card.querySelector(".type-answer");
    if (anki) {
      anki.style.display = "none";
    }
    save({ typed: "" });
    area.addEventListener("input", function () {
      save({ typed: area.value });
    });
  }

  function predictBack() {
    var state = load();
    if (!state || typeof state.typed !== "string") {
      return;
    }
    var anki = document.querySelectorAll(".quizzer .type-answer");
    for (var i = 0; i < anki.length; i++) {
      anki[i].style.display = "none";
    }
    if (!state.typed.trim()) {
      return;
    }
    var area = card.querySelector("textarea.quizzer-typed");
    if (area) {
      area.value = state.typed;
      area.readOnly = true;
      area.parentNode.hidden = false;
    }
    var output = document.querySelector(".quizzer pre.quizzer-output");
    var right = matches(output ? output.textContent : "", state.typed);
    verdict(right, right ? "\u2713 Right" : "\u2717 Not what Python prints");
  }

  // --- multiple choice: shuffled at every showing, answered by a tap ----------------------
  function items(list) {
    return Array.prototype.slice.call(list.querySelectorAll("li[data-choice]"));
  }

  function choiceFront() {
    var list = card.querySelector("ol.choices");
    if (!list) {
      return;
    }
    var choices = items(list);
    for (var i = choices.length - 1; i > 0; i--) {
      var j = Math.floor(Math.random() * (i + 1));
      var swap = choices[i];
      choices[i] = choices[j];
      choices[j] = swap;
    }
    var order = choices.map(function (li) {
      list.appendChild(li);
      return li.getAttribute("data-choice");
    });
    list.classList.add("tap");
    save({ order: order, chosen: null });
    choices.forEach(function (li) {
      li.setAttribute("role", "button");
      li.tabIndex = 0;
      li.addEventListener("click", function () {
        choices.forEach(function (other) {
          other.classList.remove("chosen");
        });
        li.classList.add("chosen");
        save({ order: order, chosen: li.getAttribute("data-choice") });
        reveal();
      });
    });
  }

  function choiceBack() {
    var state = load();
    var list = card.querySelector("ol.choices");
    if (!state || !state.order || !list) {
      return;
    }
    var byChoice = {};
    items(list).forEach(function (li) {
      byChoice[li.getAttribute("data-choice")] = li;
    });
    state.order.forEach(function (choice) {
      if (byChoice[choice]) {
        list.appendChild(byChoice[choice]);
      }
    });
    var chosen = state.chosen === null ? null : byChoice[state.chosen];
    if (chosen) {
      chosen.classList.add("chosen");
      var right = chosen.classList.contains("correct");
      verdict(right, right ? "\u2713 Right" : "\u2717 Not that one");
    }
  }

  function run() {
    var back = document.getElementById("answer") !== null;
    var id = document.querySelector(".quizzer .quizzer-id");
    card = document.querySelector(".quizzer");
    if (!id || !card || card.getAttribute("data-quizzer-done")) {
      return;
    }
    card.setAttribute("data-quizzer-done", "1");
    key = "quizzer:" + id.textContent;
    if (card.classList.contains("quizzer-predict")) {
      (back ? predictBack : predictFront)();
    } else if (card.classList.contains("quizzer-choice")) {
      (back ? choiceBack : choiceFront)();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
