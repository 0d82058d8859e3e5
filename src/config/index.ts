/** keepalived.conf reading: the public API of src/config. */
export type * from './model.js';
export { loadConfig, parseConfigText, nodeConfigFs, expandGlob, MAX_INCLUDE_DEPTH, type ConfigFs } from './load.js';
export { formatDiagnostic, formatLocation, sortDiagnostics, ConfigError, editDistance, closestMatch } from './diagnostics.js';
export { summarizeInstance, NOT_ACTED_ON, LVS_WARNING } from './validate.js';
export { lex, type Token, type TokenLine } from './lexer.js';
export { parse, type Statement, type Block } from './parser.js';
