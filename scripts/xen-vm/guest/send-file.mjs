// Usage (in dom0): node send-file.mjs NAME PATH: sends one file back to the host as a blob.
import { done, sendFile } from './guest.mjs';

const [name, path] = process.argv.slice(2);
sendFile(name, path);
done(true);
