// zerocast player page script: attaches HLS playlists to the <video> element through hls.js
// (Media Source Extensions) when the browser supports MSE, otherwise through native HLS
// (Safari/iOS), and DASH manifests through dash.js. Progressive files need no script: their <video> carries `src` already.
// The chosen engine is written to `data-engine` on the video element for people and tests.
(() => {
  const video = document.getElementById("player");
  const status = document.getElementById("status");
  if (!video) return;
  const say = (text, isError) => {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
  };
  video.addEventListener("error", () => {
    const code = video.error ? video.error.code : 0;
    say(`The browser cannot play this file (media error ${code}).`, true);
  });
  const src = video.dataset.src;
  if (video.dataset.kind === "dash") {
    // DASH (the just-in-time MPD of an MP4) through dash.js
    const dashjs = globalThis.dashjs;
    if (!dashjs) {
      video.dataset.engine = "none";
      say("dash.js did not load.", true);
      return;
    }
    const player = dashjs.MediaPlayer().create();
    player.on("error", (event) => {
      const error = event && event.error;
      say(`Stream error: ${error && error.message ? error.message : "dash.js error"}.`, true);
    });
    player.initialize(video, src, false);
    video.dataset.engine = "dash.js";
    globalThis.zerocastDash = player;
    return;
  }
  if (video.dataset.kind !== "stream") {
    video.dataset.engine = "native";
    return;
  }
  const Hls = globalThis.Hls;
  if (Hls && Hls.isSupported()) {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) say(`Stream error: ${data.type} (${data.details}).`, true);
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    video.dataset.engine = "hls.js";
    globalThis.zerocastHls = hls;
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = src;
    video.dataset.engine = "native-hls";
  } else {
    video.dataset.engine = "none";
    say("This browser supports neither Media Source Extensions nor native HLS.", true);
  }
})();
