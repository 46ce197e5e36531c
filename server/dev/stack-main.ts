/** `npm run stack`: starts the local stack and prints one machine-readable ready line. */
import { PortInUseError, portsFromEnv, startStack } from './stack';

const stack = await startStack({ ports: portsFromEnv() }).catch((e: unknown) => {
  // A taken port is the newcomer's most likely first error: say which part, and what to set.
  if (e instanceof PortInUseError) {
    console.error(`paybound: ${e.message}`);
    process.exit(1);
  }
  throw e;
});
console.log(`paybound stack ready ${JSON.stringify(stack.info)}`);

const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
