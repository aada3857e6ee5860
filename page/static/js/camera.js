// The webcam: start, stop, choose among cameras, and a plain sentence for every way it can fail.

export class Camera {
  constructor(video, { onEnded }) {
    this.video = video;
    this.onEnded = onEnded;
    this.stream = null;
  }

  get active() {
    return this.stream !== null;
  }

  /** The cameras this browser offers: [{deviceId, label}]. Labels appear once access is granted. */
  static async list() {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.filter((device) => device.kind === 'videoinput')
      .map((device, index) => ({ deviceId: device.deviceId, label: device.label || `Camera ${index + 1}` }));
  }

  /** Open camera `deviceId` (or the default) and play it in the video element; resolves to its track. */
  async start(deviceId) {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw Object.assign(new Error('no getUserMedia'), { name: 'InsecureContextError' });
    }
    this.stop();
    const video = deviceId
      ? { deviceId: { exact: deviceId } }
      : { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: 'user' };
    this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    const [track] = this.stream.getVideoTracks();
    track.addEventListener('ended', () => {
      this.stop();
      this.onEnded();
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    return track;
  }

  stop() {
    this.stream?.getTracks().forEach((track) => track.stop());
    this.stream = null;
    this.video.srcObject = null;
  }
}

/** One sentence for a getUserMedia failure: what happened and what to do. */
export function cameraErrorMessage(error) {
  switch (error.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site in the browser\'s settings, or choose a photo instead.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Plug one in and press Start camera again, or choose a photo instead.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started: another application may be using it. Close that application and try again.';
    case 'InsecureContextError':
      return 'This browser only allows the camera on secure pages: open Mien at http://localhost or over https.';
    default:
      return `The camera could not be started (${error.name || error.message}). Try again, or choose a photo instead.`;
  }
}
