/// <reference types="vite/client" />

/** The development provisioning JSON (see src/core/config/provisioning.ts), or null in production. */
declare const __PAYBOUND_PROVISION__: unknown;

/** The browser this build is for ('chrome' or 'firefox'), fixed at build time. */
declare const __PAYBOUND_TARGET__: 'chrome' | 'firefox';
