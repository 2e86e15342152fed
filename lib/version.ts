/** The amqpts version, sent to the broker in the client properties (spec/version.spec.ts keeps it equal to package.json). */
export const VERSION = '0.1.0';
