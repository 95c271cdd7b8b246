#!/usr/bin/env node
// The `guildcast` command. guildcast is TypeScript run through tsx (no build step to forget);
// registering it here lets `npx guildcast`, `npm start` and the container image share one entry.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
const outcome = await main(process.argv.slice(2));
// Roles keep running until a signal stops them; tools are done and may hold idle connections.
if (outcome !== 'running') process.exit(outcome);
