#!/usr/bin/env node
// The `keepwatch` executable: registers tsx's loader (no build step), then runs src/main.ts.
import { register } from 'tsx/esm/api';
register();
await import('./main.ts');
