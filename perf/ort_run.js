#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (npm onnxruntime-node) on inputs given as .npy files and
// writes every output as <output-dir>/<sanitized output name>.npy. With --repeat R it also
// times R runs after one warm-up and prints {"median_ms": ...} on stdout.
//
// usage: node ort_run.js --model M.onnx --input name=file.npy [...] --output-dir D
//                        [--threads N] [--repeat R]
// ONNX Runtime is loaded from $PTQFLOW_ORT_DIR (default <repo>/.cache/ort)/node_modules.
'use strict';
const fs = require('fs');
const path = require('path');

const ortDir = process.env.PTQFLOW_ORT_DIR || path.join(__dirname, '..', '.cache', 'ort');
const ort = require(path.join(ortDir, 'node_modules', 'onnxruntime-node'));

const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array], '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(file + ': not a .npy file');
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', hstart, hstart + hlen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const shape = shapeText.split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error(file + ': fortran order');
  const t = NPY_TYPES[descr];
  if (!t) throw new Error(file + ': unsupported dtype ' + descr);
  const off = hstart + hlen;
  const bytes = buf.subarray(off);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  let data = new t[1](copy.buffer, 0, bytes.length / t[1].BYTES_PER_ELEMENT);
  if (t[0] === 'bool') data = Uint8Array.from(data);
  return new ort.Tensor(t[0], data, shape);
}

function writeNpy(file, tensor) {
  const map = {float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', uint8: '|u1',
               int8: '|i1', bool: '|b1'};
  const descr = map[tensor.type];
  if (!descr) throw new Error('unsupported output type ' + tensor.type);
  const dims = tensor.dims.map(Number);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  let data = tensor.data;
  if (tensor.type === 'bool') data = Uint8Array.from(data, v => (v ? 1 : 0));
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const args = process.argv.slice(2);
  let model = null, outDir = null, threads = 0, repeat = 0;
  const inputs = {};
  for (let i = 0; i < args.length; ++i) {
    const a = args[i];
    if (a === '--model') model = args[++i];
    else if (a === '--output-dir') outDir = args[++i];
    else if (a === '--threads') threads = Number(args[++i]);
    else if (a === '--repeat') repeat = Number(args[++i]);
    else if (a === '--input') {
      const v = args[++i];
      const eq = v.indexOf('=');
      inputs[v.slice(0, eq)] = readNpy(v.slice(eq + 1));
    } else throw new Error('unknown argument ' + a);
  }
  if (!model) throw new Error('--model is required');
  const opts = {graphOptimizationLevel: 'all', executionMode: 'sequential'};
  if (threads > 0) {
    opts.intraOpNumThreads = threads;
    opts.interOpNumThreads = 1;
  }
  const session = await ort.InferenceSession.create(model, opts);
  let results = await session.run(inputs);
  if (repeat > 0) {
    const times = [];
    for (let r = 0; r < repeat; ++r) {
      const t0 = process.hrtime.bigint();
      results = await session.run(inputs);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    console.log(JSON.stringify({median_ms: times[Math.floor(times.length / 2)]}));
  }
  if (outDir) {
    fs.mkdirSync(outDir, {recursive: true});
    for (const name of session.outputNames) {
      writeNpy(path.join(outDir, name.replace(/[^A-Za-z0-9_.-]/g, '_') + '.npy'), results[name]);
    }
  }
}

main().catch(e => {
  console.error('ort_run.js: ' + (e && e.message ? e.message : e));
  process.exit(1);
});
