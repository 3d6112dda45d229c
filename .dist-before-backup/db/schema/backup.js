export {};
//# sourceMappingURL=backup.js.map