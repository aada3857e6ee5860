// How much each way of getting a shown webcam video's pixels into JavaScript costs, per frame:
// wall time until the pixels are readable, and main-thread long tasks. Driven by bench frames.

const video = document.getElementById('video');
const longTasks = [];
new PerformanceObserver((list) => longTasks.push(...list.getEntries())).observe({ type: 'longtask', buffered: false });

async function openCamera() {
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  await video.play();
  while (video.readyState < 2) await new Promise((resolve) => setTimeout(resolve, 20));
}

const nextFrame = () => new Promise((resolve) => video.requestVideoFrameCallback(resolve));

/** Run `read` on `frames` successive video frames; its wall ms and the long tasks meanwhile. */
async function onMainThread(read, frames) {
  for (let i = 0; i < 5; i += 1) { await nextFrame(); await read(); }
  const times = [];
  longTasks.length = 0;
  const started = performance.now();
  for (let i = 0; i < frames; i += 1) {
    await nextFrame();
    const before = performance.now();
    await read();
    times.push(performance.now() - before);
  }
  return { times, longTasks: longTasks.length, seconds: (performance.now() - started) / 1000 };
}

function worker() {
  return new Worker('/bench/frames-worker.js', { type: 'module' });
}

const reply = (target) => new Promise((resolve) => target.addEventListener('message', (e) => resolve(e.data), { once: true }));

const canvas = (width, height) => Object.assign(document.createElement('canvas'), { width, height })
  .getContext('2d', { willReadFrequently: true });

const ways = {
  async 'VideoFrame copyTo, main thread'(frames) {
    return onMainThread(async () => {
      const frame = new VideoFrame(video);
      const buffer = new Uint8Array(frame.allocationSize());
      await frame.copyTo(buffer);
      frame.close();
    }, frames);
  },
  async 'canvas 640x480 getImageData, main thread'(frames) {
    const context = canvas(640, 480);
    return onMainThread(async () => { context.drawImage(video, 0, 0, 640, 480); context.getImageData(0, 0, 640, 480); }, frames);
  },
  async 'canvas 320x240 getImageData, main thread'(frames) {
    const context = canvas(320, 240);
    return onMainThread(async () => { context.drawImage(video, 0, 0, 320, 240); context.getImageData(0, 0, 320, 240); }, frames);
  },
  async 'createImageBitmap 640x480 to a worker'(frames) {
    const helper = worker();
    const result = await onMainThread(async () => {
      const bitmap = await createImageBitmap(video);
      helper.postMessage({ bitmap }, [bitmap]);
      await reply(helper);
    }, frames);
    helper.terminate();
    return result;
  },
  async 'createImageBitmap resized to 320x240 to a worker'(frames) {
    const helper = worker();
    const result = await onMainThread(async () => {
      const bitmap = await createImageBitmap(video, { resizeWidth: 320, resizeHeight: 240, resizeQuality: 'medium' });
      helper.postMessage({ bitmap }, [bitmap]);
      await reply(helper);
    }, frames);
    helper.terminate();
    return result;
  },
  async 'MediaStreamTrackProcessor in a worker'(frames) {
    const helper = worker();
    const [track] = video.srcObject.getVideoTracks();
    const { readable } = new MediaStreamTrackProcessor({ track: track.clone() });
    longTasks.length = 0;
    const started = performance.now();
    helper.postMessage({ readable, frames }, [readable]);
    const { times } = await reply(helper);
    helper.terminate();
    return { times, longTasks: longTasks.length, seconds: (performance.now() - started) / 1000 };
  },
  async 'WebGL fromPixels and a 128x128 resize on the GPU, main thread'(frames) {
    await tf.setBackend('webgl');
    await tf.ready();
    return onMainThread(async () => {
      const small = tf.tidy(() => tf.image.resizeBilinear(tf.browser.fromPixels(video), [128, 128]));
      await small.data();
      small.dispose();
    }, frames);
  },
};

window.bench = {
  ways: Object.keys(ways),
  async measure(name, frames) {
    if (!video.srcObject) await openCamera();
    return ways[name](frames);
  },
};
