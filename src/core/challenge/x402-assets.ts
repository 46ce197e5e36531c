/**
 * The tokens Paybound can pay x402 charges in: USDC on a few EVM chains, by contract address.
 * Anything else a server asks for is refused, however it is named. The EIP-712 domain name and
 * version are each contract's own (USDC says "USD Coin" on Base mainnet but "USDC" on Base
 * Sepolia): a signature made with another domain would not move the token, so a server's `extra`
 * that disagrees with this table is refused rather than believed.
 */

export type EvmAddress = `0x${string}`;

export interface X402Asset {
  /** CAIP-2, as x402 v2 names networks. */
  network: `eip155:${number}`;
  chainId: number;
  /** The network's name in x402 v1. */
  v1Network: string;
  /** For people: "Base", "Base Sepolia (testnet)" is built from this and `testnet`. */
  networkName: string;
  testnet: boolean;
  /** The token contract, EIP-55 checksummed. */
  address: EvmAddress;
  symbol: 'USDC';
  /** Base units per token: 10^decimals. */
  decimals: number;
  /** The contract's EIP-712 domain (EIP-3009 `transferWithAuthorization`). */
  eip712: { name: string; version: string };
}

// Addresses, names and versions as in @x402/evm's default asset table and the contracts.
export const X402_ASSETS: readonly X402Asset[] = [
  {
    network: 'eip155:8453',
    chainId: 8453,
    v1Network: 'base',
    networkName: 'Base',
    testnet: false,
    address: '0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913',
    symbol: 'USDC',
    decimals: 6,
    eip712: { name: 'USD Coin', version: '2' },
  },
  {
    network: 'eip155:84532',
    chainId: 84532,
    v1Network: 'base-sepolia',
    networkName: 'Base Sepolia',
    testnet: true,
    address: '0x036CbD53842c5426634e7929541eC2318f3dCF7e',
    symbol: 'USDC',
    decimals: 6,
    eip712: { name: 'USDC', version: '2' },
  },
  {
    network: 'eip155:1',
    chainId: 1,
    v1Network: 'ethereum',
    networkName: 'Ethereum',
    testnet: false,
    address: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48',
    symbol: 'USDC',
    decimals: 6,
    eip712: { name: 'USD Coin', version: '2' },
  },
];

/** The network a v2 CAIP-2 id or a v1 name stands for, when Paybound knows it. */
export function x402NetworkOf(name: string): X402Asset['network'] | undefined {
  return X402_ASSETS.find((a) => a.network === name || a.v1Network === name)?.network;
}

/** The token Paybound knows at this address on this network (addresses compared case-insensitively). */
export function x402AssetAt(network: string, address: string): X402Asset | undefined {
  const lower = address.toLowerCase();
  return X402_ASSETS.find((a) => a.network === network && a.address.toLowerCase() === lower);
}
