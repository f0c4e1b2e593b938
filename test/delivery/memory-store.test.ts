import { MemoryStore } from '../../src/delivery/memory-store.js';
import { storeContract } from './store-contract.js';

storeContract('memory store', async () => ({ store: new MemoryStore(), cleanup: async () => undefined }));
