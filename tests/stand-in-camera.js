// A stand-in camera for browsers whose own fake camera shows no face (Firefox): installed before
// the page's scripts, it replaces navigator.mediaDevices.getUserMedia with one whose stream is
// captureStream() of a looping, muted, playing <video> of a clip given as base64 bytes, played from
// a blob: URL (which the page's CSP allows as media). tests/firefox.mjs (puppeteer) and
// bench/firefox.py (Chromium through Playwright) both install it as
// `(${this file's text})(base64, mimeType)`, so both browsers see the same frames.
(function installStandInCamera(base64, type) {
  const bytes = Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const devices = [{ deviceId: 'stand-in-camera', groupId: 'stand-in', kind: 'videoinput', label: 'Stand-in camera (a clip)' }];
  const { mediaDevices } = navigator;
  if (!mediaDevices) return; // not a secure context (about:blank, http on another host): no camera at all
  window.standInCamera = { starts: 0, url };

  async function getUserMedia(constraints = {}) {
    if (!constraints.video) throw new DOMException('the stand-in camera gives video only', 'NotFoundError');
    const video = document.createElement('video');
    Object.assign(video, { muted: true, loop: true, playsInline: true, src: url });
    // Kept in the document, out of sight, so the browser keeps decoding it.
    video.style.cssText = 'position:fixed;left:-10000px;top:0;width:64px;height:48px;';
    (document.body ?? document.documentElement).append(video);
    await video.play();
    const stream = video.captureStream ? video.captureStream() : video.mozCaptureStream();
    stream.getAudioTracks().forEach((track) => { stream.removeTrack(track); track.stop(); });
    const [track] = stream.getVideoTracks();
    if (!track) throw new DOMException('the stand-in clip gave no video track', 'NotReadableError');
    const settings = track.getSettings.bind(track);
    track.getSettings = () => ({ ...settings(), deviceId: devices[0].deviceId });
    const stop = track.stop.bind(track);
    track.stop = () => { stop(); video.pause(); video.remove(); };
    window.standInCamera.starts += 1;
    return stream;
  }

  Object.defineProperty(mediaDevices, 'getUserMedia', { value: getUserMedia, configurable: true, writable: true });
  Object.defineProperty(mediaDevices, 'enumerateDevices', {
    value: async () => devices.map((device) => ({ ...device, toJSON() { return { ...device }; } })),
    configurable: true, writable: true,
  });
})
