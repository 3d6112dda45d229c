export {};
//# sourceMappingURL=ops.js.map