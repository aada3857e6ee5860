// Counts the page's camera results (its `result` events) between window.cameraRecord.start() and
// stop(): each result's ms and stages (where the worker's time went), labels of the first face,
// and what the page's own meter says at the end. Evaluated as `(${this file's text})()` once the page is ready, by tests/firefox.mjs and by
// bench/firefox.py in Chromium, so both browsers are measured alike.
(function installCameraRecorder() {
  const record = { times: [], stages: [], recording: false, started: 0, faces: 0, labels: {} };
  window.mien.events.addEventListener('result', ({ detail }) => {
    if (!record.recording || detail.source !== 'camera') return;
    record.times.push(detail.ms);
    record.stages.push(detail.stages);
    record.faces = detail.faces.length;
    const label = detail.faces[0]?.label ?? 'no face';
    record.labels[label] = (record.labels[label] ?? 0) + 1;
  });
  window.cameraRecord = {
    start() { Object.assign(record, { times: [], stages: [], labels: {}, recording: true, started: performance.now() }); },
    stop() {
      record.recording = false;
      const { fps, msPerFrame, frameSource, backend } = window.mien.state;
      return { ...record, seconds: (performance.now() - record.started) / 1000, meter: { fps, msPerFrame }, frameSource, backend };
    },
  };
})
