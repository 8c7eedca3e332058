// The one entry point to @peculiar/x509: its dependency injection (tsyringe) needs the Reflect
// metadata API to exist before the library loads, so the polyfill is imported first.
import 'reflect-metadata';

export * from '@peculiar/x509';
