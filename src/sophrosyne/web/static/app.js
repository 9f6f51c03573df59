/* Sophrosyne's small enhancements. Every page works without them: forms post, links link. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Forms that change something important ask first: <form data-confirm="Run it?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // <main data-refresh="15">: fetch the page again every N seconds and swap its content,
  // unless the tab is hidden or someone is typing in a field of it.
  function autoRefresh(main) {
    var seconds = parseInt(main.getAttribute("data-refresh"), 10);
    if (!(seconds > 0)) return;
    window.setInterval(function () {
      if (document.hidden) return;
      var active = document.activeElement;
      if (active && main.contains(active) && /INPUT|SELECT|TEXTAREA/.test(active.tagName)) return;
      fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) {
          if (response.redirected || !response.ok) return null;
          return response.text();
        })
        .then(function (html) {
          if (!html) return;
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          if (fresh) main.innerHTML = fresh.innerHTML;
        })
        .catch(function () { /* the next tick tries again */ });
    }, seconds * 1000);
  }

  // <pre data-stream="/api/v1/runs/7/stream" data-after="12">: follow the run's output live
  // with Server-Sent Events (the session cookie authenticates), then reload once it ends.
  function follow(pre) {
    if (!window.EventSource) return;
    var url = pre.getAttribute("data-stream") + "?after=" + encodeURIComponent(pre.getAttribute("data-after") || "0");
    var source = new EventSource(url);
    var badge = document.getElementById("run-state");
    source.addEventListener("output", function (event) {
      var chunk = JSON.parse(event.data);
      var stick = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
      pre.appendChild(document.createTextNode(chunk.text));
      pre.setAttribute("data-after", String(chunk.seq));
      if (stick) pre.scrollTop = pre.scrollHeight;
    });
    source.addEventListener("state", function (event) {
      var state = JSON.parse(event.data).state;
      if (badge) {
        badge.innerHTML = "";
        var span = document.createElement("span");
        span.className = "badge state-" + state;
        span.textContent = state.replace(/_/g, " ");
        badge.appendChild(span);
      }
    });
    source.addEventListener("end", function () {
      source.close();
      window.setTimeout(function () { window.location.reload(); }, 300);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var main = document.getElementById("main");
    if (main && main.hasAttribute("data-refresh")) autoRefresh(main);
    var streams = document.querySelectorAll("pre[data-stream]");
    for (var i = 0; i < streams.length; i++) follow(streams[i]);
  });
})();
