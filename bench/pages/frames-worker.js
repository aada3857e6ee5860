// The worker side of frames.js: reads pixels out of an ImageBitmap or a camera track's frames.

let context = null;

async function readTrack(readable, frames) {
  const reader = readable.getReader();
  const times = [];
  for (let i = 0; i < frames + 5; i += 1) {
    const { value: frame } = await reader.read();
    const before = performance.now();
    const buffer = new Uint8Array(frame.allocationSize());
    await frame.copyTo(buffer);
    frame.close();
    if (i >= 5) times.push(performance.now() - before);
  }
  reader.cancel();
  return times;
}

self.onmessage = async ({ data }) => {
  if (data.readable) {
    self.postMessage({ times: await readTrack(data.readable, data.frames) });
    return;
  }
  const { bitmap } = data;
  if (!context || context.canvas.width !== bitmap.width) {
    context = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d', { willReadFrequently: true });
  }
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  context.getImageData(0, 0, context.canvas.width, context.canvas.height);
  self.postMessage({});
};
