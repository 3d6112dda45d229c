export {};
//# sourceMappingURL=search.js.map