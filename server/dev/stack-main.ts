/** `npm run stack`: starts the local stack and prints one machine-readable ready line. */
import { portsFromEnv, startStack } from './stack';

const stack = await startStack({ ports: portsFromEnv() });
console.log(`paybound stack ready ${JSON.stringify(stack.info)}`);

const stop = async () => {
  await stack.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
