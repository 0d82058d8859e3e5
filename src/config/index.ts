/** keepalived.conf reading: the public API of src/config. */
export type * from './model.js';
export {
  loadConfig,
  parseConfigText,
  nodeConfigFs,
  expandGlob,
  expandBraces,
  defaultConfigId,
  segmentMatcher,
  MAX_INCLUDE_DEPTH,
  MAX_FILE_BYTES,
  MAX_TOTAL_BYTES,
  MAX_FILE_READS,
  MAX_GLOB_MATCHES,
  MAX_DIR_ENTRIES,
  MAX_TOKENS,
  type ConfigFs,
  type LoadOptions,
} from './load.js';
export {
  Expander,
  MAX_EXPANDED_LINE_CHARS,
  MAX_EXPANDED_CHARS,
  MAX_EXPANSION_DEPTH,
  MAX_SEQUENCE_VALUES,
  MAX_SEQUENCE_ITERATIONS,
  MAX_SUBSTITUTIONS,
  MAX_DEFINITIONS,
  type ExpandOptions,
} from './expand.js';
export {
  formatDiagnostic,
  formatLocation,
  sortDiagnostics,
  ConfigError,
  editDistance,
  closestMatch,
  MAX_REPORTED_ERRORS,
  MAX_REPORTED_WARNINGS,
} from './diagnostics.js';
export { summarizeInstance, summarizeVirtualServer } from './summary.js';
export { NOT_ACTED_ON } from './interpret.js';
export { lex, type Token, type TokenLine } from './lexer.js';
export { parse, MAX_BLOCK_DEPTH, type Statement, type Block } from './parser.js';
export { readRegularFile, FileRefusedError, type FileKind } from './files.js';
