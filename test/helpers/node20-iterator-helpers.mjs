// @immich/cli 3.x calls Iterator.prototype.toArray (ES2025 iterator helpers, Node >= 22; its `bin`
// insists on Node 22). Our Node 20 lacks it: this preload adds that one method, so the real client's
// own code runs unchanged (`node --import <this> node_modules/@immich/cli/dist/index.js`).
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
if (typeof IteratorPrototype.toArray !== 'function') {
  Object.defineProperty(IteratorPrototype, 'toArray', {
    value() {
      return [...this];
    },
    writable: true,
    configurable: true,
  });
}
