// Call page: clicking a line (or any [data-seek] link) seeks the recording there; a #t=12.3 fragment
// seeks on load (search results link to the moment a phrase is said); the line being played is marked.
// A [data-stretch-start] button plays only the words a doubtful verdict hinges on, optionally slowed, so a
// reviewer can judge a word the recognizer was unsure of without hunting for it by hand.
(function () {
  "use strict";
  var player = document.getElementById("player");
  if (!player) { return; }
  var lines = Array.prototype.slice.call(document.querySelectorAll("li.segment"));

  function seek(seconds, play) {
    var go = function () {
      player.currentTime = seconds;
      if (play) { player.play().catch(function () { /* autoplay may be refused; the seek stands */ }); }
    };
    // Before metadata loads the browser may ignore currentTime, so wait for it.
    if (player.readyState >= 1) { go(); } else { player.addEventListener("loadedmetadata", go, { once: true }); }
  }

  // Lead-in and tail around a stretch: word times from the recognizer can be a few hundred ms off.
  var MARGIN_S = 0.5;
  var stopAt = null;

  function endStretch() {
    stopAt = null;
    player.playbackRate = 1;
  }

  function playStretch(start, end, rate) {
    stopAt = end + MARGIN_S;
    player.preservesPitch = true;  // slowed speech stays at the speaker's pitch
    player.playbackRate = rate;
    seek(Math.max(0, start - MARGIN_S), true);
  }

  function markCurrent(seconds) {
    lines.forEach(function (li) {
      var start = parseFloat(li.dataset.seek), end = parseFloat(li.dataset.end);
      li.classList.toggle("current", seconds >= start && seconds < end);
    });
  }

  document.addEventListener("click", function (event) {
    // A correction form sits inside its line: typing and saving there must not seek (or be cancelled).
    if (event.target.closest("details.correct")) { return; }
    var stretch = event.target.closest("[data-stretch-start]");
    if (stretch) {
      event.preventDefault();
      playStretch(parseFloat(stretch.dataset.stretchStart), parseFloat(stretch.dataset.stretchEnd),
                  parseFloat(stretch.dataset.rate) || 1);
      return;
    }
    var target = event.target.closest("[data-seek]");
    if (!target) { return; }
    event.preventDefault();
    endStretch();
    var seconds = parseFloat(target.dataset.seek);
    history.replaceState(null, "", "#t=" + seconds);
    markCurrent(seconds);
    seek(seconds, true);
  });

  player.addEventListener("timeupdate", function () {
    if (stopAt !== null && player.currentTime >= stopAt) {
      player.pause();
      endStretch();
    }
    markCurrent(player.currentTime);
  });
  // Stopped by hand, or played to the end: the next play is at normal speed and runs on.
  player.addEventListener("pause", function () { if (stopAt !== null) { endStretch(); } });

  var match = /^#t=([0-9]+(?:\.[0-9]+)?)$/.exec(location.hash);
  if (match) {
    var seconds = parseFloat(match[1]);
    markCurrent(seconds);
    var line = document.querySelector("li.segment.current");
    if (line) { line.scrollIntoView({ block: "center" }); }
    seek(seconds, false);
  }
})();
