// Entry script of spawn()'s dedicated worker in browsers (a module Web Worker). It owns the Engine, which may
// block here while its thread pool works. No top-level await and no dynamic import: bundlers may emit
// workers as classic scripts (Vite's default worker format is 'iife').
import { webPlatform } from '../runtime/platform-web.js';
import { serve, webWorkerPort } from './serve.js';

serve(webWorkerPort(), webPlatform);
