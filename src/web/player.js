// zerocast player page script: attaches HLS playlists to the <video> element through hls.js
// (Media Source Extensions) when the browser supports MSE, otherwise through native HLS
// (Safari/iOS). Progressive files need no script: their <video> carries `src` already.
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
  if (video.dataset.kind !== "stream") {
    video.dataset.engine = "native";
    return;
  }
  const src = video.dataset.src;
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
