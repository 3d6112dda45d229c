export {};
//# sourceMappingURL=faces.js.map