// V8 checks WebAssembly memory bounds with guard pages: an access out of
// bounds faults (SIGSEGV), V8's handler turns the fault into a trap, and
// JavaScript catches it. The module is written here by hand:
//   (module (memory 1)
//     (func (export "load") (param i32) (result i32) local.get 0 i32.load))
const bytes = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,             // magic, version 1
  0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,             // types: (i32) -> i32
  0x03, 0x02, 0x01, 0x00,                                     // functions: one of type 0
  0x05, 0x03, 0x01, 0x00, 0x01,                               // memory: 1 page
  0x07, 0x08, 0x01, 0x04, 0x6c, 0x6f, 0x61, 0x64, 0x00, 0x00, // export "load"
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00, 0x0b, // local.get 0; i32.load; end
]);
const load = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.load;
let traps = 0;
for (let i = 0; i < 1000; i++) {
  try {
    load(70000 + i);
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) traps++;
  }
}
console.log(`${traps} out-of-bounds traps caught; in bounds: ${load(8)}`);
