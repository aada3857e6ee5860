// Runs an exported Mien graph model with TensorFlow.js in Node, as the browser would, and writes
// every output (class scores, and the features where the model gives them) as JSON. The exporter
// compares them with what Keras computed.
//
//   node exporters/parity.mjs MODEL_DIR FACES.bin COUNT OUT.json [TENSORS]
//
// FACES.bin holds COUNT faces as float32 [COUNT, height, width, channels] with raw 0-255 pixels.
// TENSORS, JSON {input, scores, features}: feed the faces into the graph's `input` tensor and write
// the `scores` and `features` tensors instead (one view of each face, as metadata.json's single_view).
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

const [modelDir, facesPath, countText, outPath, tensorsJson] = process.argv.slice(2);

// The exporter keeps this process's stdin open while it waits; when it closes, the exporter has
// ended (finished, failed or killed), and this process ends with it.
process.stdin.on('end', () => process.exit(1));
process.stdin.resume();

// TF.js's own loader reads model.json and its weight files, here from the disk instead of a server.
const fromDisk = async (url) => new Response(await readFile(fileURLToPath(url)));

await tf.setBackend('wasm');
await tf.ready();
const model = await tf.loadGraphModel(pathToFileURL(path.join(modelDir, 'model.json')).href, { fetchFunc: fromDisk });
const shape = model.inputs[0].shape.slice(1);
const count = Number(countText);
const raw = await readFile(facesPath);
const faces = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), [count, ...shape]);
// output_0, output_1...: the Keras model's order (model.json may list them otherwise)
const signature = Object.entries(model.modelSignature.outputs).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
const tensors = tensorsJson && JSON.parse(tensorsJson);
const outputs = tensors ? model.execute({ [tensors.input]: faces }, [tensors.scores, tensors.features])
  : [model.execute(faces, signature.map(([, { name }]) => name))].flat();
// A file, not stdout: TF.js prints a banner there in Node.
await writeFile(outPath, JSON.stringify({ backend: tf.getBackend(), outputs: await Promise.all(outputs.map((output) => output.array())) }));
process.exit(0);
