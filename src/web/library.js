// zerocast library page script: posters that were not ready when the page was rendered (the
// server answered a placeholder and queued the frame grab) are asked for again a few times;
// once the poster URL answers with a JPEG the <img> is pointed at it.
(() => {
  const pending = Array.from(document.querySelectorAll("img.poster[data-pending]"));
  if (pending.length === 0) return;
  let rounds = 0;
  const check = async () => {
    rounds++;
    for (const img of pending.slice()) {
      const src = img.dataset.src;
      try {
        const response = await fetch(src, { method: "HEAD", cache: "no-store" });
        if ((response.headers.get("content-type") || "").startsWith("image/jpeg")) {
          img.src = src;
          img.removeAttribute("data-pending");
          pending.splice(pending.indexOf(img), 1);
        }
      } catch {
        // network trouble: try again next round
      }
    }
    if (pending.length > 0 && rounds < 20) setTimeout(check, 1000 + rounds * 250);
  };
  setTimeout(check, 500);
})();
