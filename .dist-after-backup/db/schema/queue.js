export {};
//# sourceMappingURL=queue.js.map