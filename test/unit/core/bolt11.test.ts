import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { bech32 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  decodeInvoice,
  descriptionMatches,
  InvoiceError,
  type InvoiceErrorCode,
  isExpired,
  sha256Hex,
  verifyPreimage,
} from '../../../src/core/lightning/bolt11';

// Test vectors from BOLT #11 ("Examples" and "Examples of Invalid Invoices"). All are signed with
// priv_key e126f68f…b734, whose node id is PAYEE.
const SPEC_KEY = hexToBytes('e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734');
const PAYEE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad';
const HASH = '0001020304050607080900010203040506070809000102030405060708090102';
const SECRET = '1111111111111111111111111111111111111111111111111111111111111111';
const TIMESTAMP = 1496314658;
const CAKE =
  'One piece of chocolate cake, one icecream cone, one pickle, one slice of swiss cheese, one slice of salami, one lollypop, one piece of cherry pie, one sausage, one cupcake, and one slice of watermelon';

interface Vector {
  name: string;
  invoice: string;
  network: string;
  amountMsat: bigint | null;
  paymentHash?: string;
  description?: string;
  hashedDescription?: string;
  expirySeconds?: number;
  timestamp?: number;
  minFinalCltvExpiry?: number;
  paymentSecret?: string;
}

const VALID: Vector[] = [
  {
    name: 'donation of any amount',
    invoice:
      'lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql',
    network: 'mainnet',
    amountMsat: null,
    description: 'Please consider supporting this project',
    expirySeconds: 3600,
  },
  {
    name: '$3 for a cup of coffee within one minute',
    invoice:
      'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh',
    network: 'mainnet',
    amountMsat: 250_000_000n,
    description: '1 cup coffee',
    expirySeconds: 60,
  },
  {
    name: '0.0025 BTC for a cup of nonsense (UTF-8 description)',
    invoice:
      'lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpu9qrsgqhtjpauu9ur7fw2thcl4y9vfvh4m9wlfyz2gem29g5ghe2aak2pm3ps8fdhtceqsaagty2vph7utlgj48u0ged6a337aewvraedendscp573dxr',
    network: 'mainnet',
    amountMsat: 250_000_000n,
    description: 'ナンセンス 1杯',
    expirySeconds: 60,
  },
  {
    name: '$24 for a hashed list of things',
    invoice:
      'lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqs9qrsgq7ea976txfraylvgzuxs8kgcw23ezlrszfnh8r6qtfpr6cxga50aj6txm9rxrydzd06dfeawfk6swupvz4erwnyutnjq7x39ymw6j38gp7ynn44',
    network: 'mainnet',
    amountMsat: 2_000_000_000n,
    hashedDescription: CAKE,
  },
  {
    name: 'testnet, with a P2PKH fallback address',
    invoice:
      'lntb20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfpp3x9et2e20v6pu37c5d9vax37wxq72un989qrsgqdj545axuxtnfemtpwkc45hx9d2ft7x04mt8q7y6t0k2dge9e7h8kpy9p34ytyslj3yu569aalz2xdk8xkd7ltxqld94u8h2esmsmacgpghe9k8',
    network: 'testnet',
    amountMsat: 2_000_000_000n,
    hashedDescription: CAKE,
  },
  {
    name: 'mainnet, fallback address and extra routing info',
    invoice:
      'lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqhp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqsfpp3qjmp7lwpagxun9pygexvgpjdc4jdj85fr9yq20q82gphp2nflc7jtzrcazrra7wwgzxqc8u7754cdlpfrmccae92qgzqvzq2ps8pqqqqqqpqqqqq9qqqvpeuqafqxu92d8lr6fvg0r5gv0heeeqgcrqlnm6jhphu9y00rrhy4grqszsvpcgpy9qqqqqqgqqqqq7qqzq9qrsgqdfjcdk6w3ak5pca9hwfwfh63zrrz06wwfya0ydlzpgzxkn5xagsqz7x9j4jwe7yj7vaf2k9lqsdk45kts2fd0fkr28am0u4w95tt2nsq76cqw0',
    network: 'mainnet',
    amountMsat: 2_000_000_000n,
    hashedDescription: CAKE,
  },
  {
    name: 'mainnet, P2SH fallback address',
    invoice:
      'lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppj3a24vwu6r8ejrss3axul8rxldph2q7z99qrsgqz6qsgww34xlatfj6e3sngrwfy3ytkt29d2qttr8qz2mnedfqysuqypgqex4haa2h8fx3wnypranf3pdwyluftwe680jjcfp438u82xqphf75ym',
    network: 'mainnet',
    amountMsat: 2_000_000_000n,
    hashedDescription: CAKE,
  },
  {
    name: 'mainnet, P2WPKH fallback address',
    invoice:
      'lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfppqw508d6qejxtdg4y5r3zarvary0c5xw7k9qrsgqt29a0wturnys2hhxpner2e3plp6jyj8qx7548zr2z7ptgjjc7hljm98xhjym0dg52sdrvqamxdezkmqg4gdrvwwnf0kv2jdfnl4xatsqmrnsse',
    network: 'mainnet',
    amountMsat: 2_000_000_000n,
    hashedDescription: CAKE,
  },
  {
    name: 'mainnet, P2WSH fallback address',
    invoice:
      'lnbc20m1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygshp58yjmdan79s6qqdhdzgynm4zwqd5d7xmw5fk98klysy043l2ahrqspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqfp4qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q9qrsgq9vlvyj8cqvq6ggvpwd53jncp9nwc47xlrsnenq2zp70fq83qlgesn4u3uyf4tesfkkwwfg3qs54qe426hp3tz7z6sweqdjg05axsrjqp9yrrwc',
    network: 'mainnet',
    amountMsat: 2_000_000_000n,
    hashedDescription: CAKE,
  },
  {
    name: 'amount in pico-BTC, one week expiry',
    invoice:
      'lnbc9678785340p1pwmna7lpp5gc3xfm08u9qy06djf8dfflhugl6p7lgza6dsjxq454gxhj9t7a0sd8dgfkx7cmtwd68yetpd5s9xar0wfjn5gpc8qhrsdfq24f5ggrxdaezqsnvda3kkum5wfjkzmfqf3jkgem9wgsyuctwdus9xgrcyqcjcgpzgfskx6eqf9hzqnteypzxz7fzypfhg6trddjhygrcyqezcgpzfysywmm5ypxxjemgw3hxjmn8yptk7untd9hxwg3q2d6xjcmtv4ezq7pqxgsxzmnyyqcjqmt0wfjjq6t5v4khxsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygsxqyjw5qcqp2rzjq0gxwkzc8w6323m55m4jyxcjwmy7stt9hwkwe2qxmy8zpsgg7jcuwz87fcqqeuqqqyqqqqlgqqqqn3qq9q9qrsgqrvgkpnmps664wgkp43l22qsgdw4ve24aca4nymnxddlnp8vh9v2sdxlu5ywdxefsfvm0fq3sesf08uf6q9a2ke0hc9j6z6wlxg5z5kqpu2v9wz',
    network: 'mainnet',
    amountMsat: 967_878_534n,
    paymentHash: '462264ede7e14047e9b249da94fefc47f41f7d02ee9b091815a5506bc8abf75f',
    description:
      'Blockstream Store: 88.85 USD for Blockstream Ledger Nano S x 1, "Back In My Day" Sticker x 2, "I Got Lightning Working" Sticker x 2 and 1 more items',
    expirySeconds: 604_800,
    timestamp: 1572468703,
    minFinalCltvExpiry: 10,
  },
  {
    name: 'coffee beans, features 8, 14 and 99',
    invoice:
      'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqqsgq2a25dxl5hrntdtn6zvydt7d66hyzsyhqs4wdynavys42xgl6sgx9c4g7me86a27t07mdtfry458rtjr0v92cnmswpsjscgt2vcse3sgpz3uapa',
    network: 'mainnet',
    amountMsat: 2_500_000_000n,
    description: 'coffee beans',
  },
  {
    name: 'the same, all upper case',
    invoice:
      'LNBC25M1PVJLUEZPP5QQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQQQSYQCYQ5RQWZQFQYPQDQ5VDHKVEN9V5SXYETPDEESSP5ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYG3ZYGS9Q5SQQQQQQQQQQQQQQQQSGQ2A25DXL5HRNTDTN6ZVYDT7D66HYZSYHQS4WDYNAVYS42XGL6SGX9C4G7ME86A27T07MDTFRY458RTJR0V92CNMSWPSJSCGT2VCSE3SGPZ3UAPA',
    network: 'mainnet',
    amountMsat: 2_500_000_000n,
    description: 'coffee beans',
  },
  {
    name: 'the same, with fields a reader must skip',
    invoice:
      'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q5sqqqqqqqqqqqqqqqqsgq2qrqqqfppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqppnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqpp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhpnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqhp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqspnqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqsp4qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnp5qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqnpkqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqz599y53s3ujmcfjp5xrdap68qxymkqphwsexhmhr8wdz5usdzkzrse33chw6dlp3jhuhge9ley7j2ayx36kawe7kmgg8sv5ugdyusdcqzn8z9x',
    network: 'mainnet',
    amountMsat: 2_500_000_000n,
    description: 'coffee beans',
  },
  {
    name: '0.01 BTC with payment metadata',
    invoice:
      'lnbc10m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdp9wpshjmt9de6zqmt9w3skgct5vysxjmnnd9jx2mq8q8a04uqsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q2gqqqqqqsgq7hf8he7ecf7n4ffphs6awl9t6676rrclv9ckg3d3ncn7fct63p6s365duk5wrk202cfy3aj5xnnp5gs3vrdvruverwwq7yzhkf5a3xqpd05wjc',
    network: 'mainnet',
    amountMsat: 1_000_000_000n,
    description: 'payment metadata inside',
  },
];

const INVALID: { name: string; invoice: string; code: InvoiceErrorCode }[] = [
  {
    name: 'unknown compulsory feature 100',
    invoice:
      'lnbc25m1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5vdhkven9v5sxyetpdeessp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9q4psqqqqqqqqqqqqqqqqsgqtqyx5vggfcsll4wu246hz02kp85x4katwsk9639we5n5yngc3yhqkm35jnjw4len8vrnqnf5ejh0mzj9n3vz2px97evektfm2l6wqccp3y7372',
    code: 'unknown_required_feature',
  },
  {
    name: 'bech32 checksum is invalid',
    invoice:
      'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrnt',
    code: 'bad_checksum',
  },
  {
    name: 'malformed bech32 string (no 1)',
    invoice:
      'pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny',
    code: 'no_separator',
  },
  {
    name: 'malformed bech32 string (mixed case)',
    invoice:
      'LNBC2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpquwpc4curk03c9wlrswe78q4eyqc7d8d0xqzpuyk0sg5g70me25alkluzd2x62aysf2pyy8edtjeevuv4p2d5p76r4zkmneet7uvyakky2zr4cusd45tftc9c5fh0nnqpnl2jfll544esqchsrny',
    code: 'mixed_case',
  },
  {
    name: 'signature is not recoverable (recovery flag 2, no such point)',
    invoice:
      'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpusp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qrsgqwgt7mcn5yqw3yx0w94pswkpq6j9uh6xfqqqtsk4tnarugeektd4hg5975x9am52rz4qskukxdmjemg92vvqz8nvmsye63r5ykel43pgz7zq0g2',
    code: 'bad_signature',
  },
  {
    name: 'string is too short',
    invoice:
      'lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6na6hlh',
    code: 'too_short',
  },
  {
    name: 'invalid multiplier',
    invoice:
      'lnbc2500x1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpusp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qrsgqrrzc4cvfue4zp3hggxp47ag7xnrlr8vgcmkjxk3j5jqethnumgkpqp23z9jclu3v0a7e0aruz366e9wqdykw6dxhdzcjjhldxq0w6wgqcnu43j',
    code: 'invalid_multiplier',
  },
  {
    name: 'sub-millisatoshi precision',
    invoice:
      'lnbc2500000001p1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpusp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygs9qrsgq0lzc236j96a95uv0m3umg28gclm5lqxtqqwk32uuk4k6673k6n5kfvx3d2h8s295fad45fdhmusm8sjudfhlf6dcsxmfvkeywmjdkxcp99202x',
    code: 'sub_millisatoshi',
  },
];

function errorCode(invoice: string): InvoiceErrorCode | 'no error' {
  try {
    decodeInvoice(invoice);
    return 'no error';
  } catch (err) {
    if (err instanceof InvoiceError) return err.code;
    throw err;
  }
}

describe('decodeInvoice: the BOLT #11 examples', () => {
  it.each(VALID)('$name', (v) => {
    const inv = decodeInvoice(v.invoice);
    expect(inv.paymentRequest).toBe(v.invoice);
    expect(inv.network).toBe(v.network);
    expect(inv.amountMsat).toBe(v.amountMsat);
    expect(inv.paymentHash).toBe(v.paymentHash ?? HASH);
    expect(inv.paymentSecret).toBe(v.paymentSecret ?? SECRET);
    expect(inv.payee).toBe(PAYEE);
    expect(inv.timestamp).toBe(v.timestamp ?? TIMESTAMP);
    expect(inv.expirySeconds).toBe(v.expirySeconds ?? 3600);
    expect(inv.expiresAt).toBe(inv.timestamp + inv.expirySeconds);
    expect(inv.minFinalCltvExpiry).toBe(v.minFinalCltvExpiry);
    if (v.hashedDescription !== undefined) {
      expect(inv.description).toBeUndefined();
      expect(inv.descriptionHash).toBe(sha256Hex(utf8ToBytes(v.hashedDescription)));
      expect(descriptionMatches(inv, v.hashedDescription)).toBe(true);
      expect(descriptionMatches(inv, `${v.hashedDescription}!`)).toBe(false);
    } else {
      expect(inv.description).toBe(v.description);
      expect(inv.descriptionHash).toBeUndefined();
    }
  });

  it.each(INVALID)('rejects: $name', ({ invoice, code }) => {
    expect(errorCode(invoice)).toBe(code);
  });

  it('names the problem in the error message', () => {
    expect(() => decodeInvoice(INVALID[6]!.invoice)).toThrow(/multiplier "x"/);
  });
});

// ---- invoices crafted here, signed with the spec's key, to reach the rules the examples miss ----

/** 5-bit words to bytes, zero-padding the last byte (the BOLT #11 signing rule). */
function toBytesPadded(words: number[]): Uint8Array {
  const bits = words.map((w) => w.toString(2).padStart(5, '0')).join('');
  const padded = bits.padEnd(Math.ceil(bits.length / 8) * 8, '0');
  return Uint8Array.from(padded.match(/.{8}/g) ?? [], (b) => Number.parseInt(b, 2));
}

const field = (type: number, words: number[]) => [type, words.length >> 5, words.length & 31, ...words];
const bytesField = (type: number, bytes: Uint8Array) => field(type, bech32.toWords(bytes));
const textField = (type: number, text: string) => bytesField(type, utf8ToBytes(text));
const timestampWords = (t: number) => Array.from({ length: 7 }, (_, i) => Math.floor(t / 32 ** (6 - i)) % 32);

const P = 1; // payment hash
const S = 16; // payment secret
const D = 13; // description
const N = 19; // payee node id
const X = 6; // expiry
const NINE = 5; // features

interface Crafted {
  hrp?: string;
  fields?: number[][];
  key?: Uint8Array;
  /** Rewrites the 65 signature bytes (r, s, recovery flag) before encoding. */
  tamper?: (sig: Uint8Array) => Uint8Array;
}

function craft({ hrp = 'lnbc10u', fields, key = SPEC_KEY, tamper }: Crafted = {}): string {
  const data = [
    ...timestampWords(TIMESTAMP),
    ...(
      fields ?? [bytesField(P, hexToBytes(HASH)), bytesField(S, hexToBytes(SECRET)), textField(D, 'test')]
    ).flat(),
  ];
  const digest = sha256(new Uint8Array([...utf8ToBytes(hrp), ...toBytesPadded(data)]));
  const recovered = secp256k1.sign(digest, key, { prehash: false, format: 'recovered' });
  let sig: Uint8Array = new Uint8Array([...recovered.subarray(1), recovered[0]!]);
  if (tamper) sig = tamper(sig);
  return bech32.encode(hrp, [...data, ...bech32.toWords(sig)], false);
}

const CURVE_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The same signature with s replaced by n − s (still valid) and the recovery parity flipped. */
function highS(sig: Uint8Array): Uint8Array {
  const s = BigInt(`0x${bytesToHex(sig.subarray(32, 64))}`);
  const flipped = hexToBytes((CURVE_N - s).toString(16).padStart(64, '0'));
  return new Uint8Array([...sig.subarray(0, 32), ...flipped, sig[64]! ^ 1]);
}

describe('decodeInvoice: strictness beyond the examples', () => {
  it('accepts a crafted invoice and recovers the signer', () => {
    const inv = decodeInvoice(craft());
    expect(inv.payee).toBe(PAYEE);
    expect(inv.amountMsat).toBe(1_000_000n);
    expect(inv.description).toBe('test');
  });

  it('maps every prefix to its network and refuses unknown ones', () => {
    expect(decodeInvoice(craft({ hrp: 'lnbcrt10u' })).network).toBe('regtest');
    expect(decodeInvoice(craft({ hrp: 'lntbs10u' })).network).toBe('signet');
    expect(decodeInvoice(craft({ hrp: 'lntb10u' })).network).toBe('testnet');
    expect(decodeInvoice(craft({ hrp: 'lnbcrt' })).amountMsat).toBeNull();
    expect(errorCode(craft({ hrp: 'lnsb10u' }))).toBe('unknown_network');
    expect(errorCode(craft({ hrp: 'lnbcx10u' }))).toBe('unknown_network');
  });

  it('reads amounts exactly with every multiplier', () => {
    const amount = (hrp: string) => decodeInvoice(craft({ hrp })).amountMsat;
    expect(amount('lnbc1')).toBe(100_000_000_000n);
    expect(amount('lnbc21000000')).toBe(2_100_000_000_000_000_000n);
    expect(amount('lnbc3m')).toBe(300_000_000n);
    expect(amount('lnbc7u')).toBe(700_000n);
    expect(amount('lnbc9n')).toBe(900n);
    expect(amount('lnbc10p')).toBe(1n);
    expect(amount('lnbc1230p')).toBe(123n);
  });

  it('refuses malformed amounts', () => {
    expect(errorCode(craft({ hrp: 'lnbc010u' }))).toBe('invalid_amount');
    expect(errorCode(craft({ hrp: 'lnbc0' }))).toBe('invalid_amount');
    expect(errorCode(craft({ hrp: 'lnbc1u5' }))).toBe('invalid_amount');
    expect(errorCode(craft({ hrp: 'lnbc15p' }))).toBe('sub_millisatoshi');
    expect(errorCode(craft({ hrp: 'lnbc21000001' }))).toBe('amount_too_large');
  });

  it('verifies the signature against an n field and rejects a wrong one', () => {
    const withN = (payee: string) => [
      bytesField(P, hexToBytes(HASH)),
      bytesField(N, hexToBytes(payee)),
      textField(D, 'with n'),
    ];
    expect(decodeInvoice(craft({ fields: withN(PAYEE) })).payee).toBe(PAYEE);
    const other = bytesToHex(secp256k1.getPublicKey(hexToBytes('11'.repeat(32)), true));
    expect(errorCode(craft({ fields: withN(other) }))).toBe('bad_signature');
  });

  it('recovers from a high-S signature but refuses one checked against an n field', () => {
    expect(decodeInvoice(craft({ tamper: highS })).payee).toBe(PAYEE);
    const fields = [bytesField(P, hexToBytes(HASH)), bytesField(N, hexToBytes(PAYEE)), textField(D, 'n')];
    expect(errorCode(craft({ fields, tamper: highS }))).toBe('bad_signature');
  });

  it('rejects a recovery flag above 3', () => {
    const flag4 = (sig: Uint8Array) => new Uint8Array([...sig.subarray(0, 64), 4]);
    expect(errorCode(craft({ tamper: flag4 }))).toBe('bad_recovery_flag');
  });

  it('never attributes a tampered signature to the real signer', () => {
    // Without an n field any valid signature names *some* payee; a changed r must not name ours.
    const forged = craft({ tamper: (sig) => new Uint8Array([sig[0]! ^ 1, ...sig.subarray(1)]) });
    let payee: string;
    try {
      payee = decodeInvoice(forged).payee;
    } catch (err) {
      payee = (err as InvoiceError).code;
    }
    expect(payee).not.toBe(PAYEE);
  });

  it('needs exactly one valid payment hash', () => {
    expect(errorCode(craft({ fields: [textField(D, 'no hash')] }))).toBe('missing_payment_hash');
    const twice = [bytesField(P, hexToBytes(HASH)), bytesField(P, hexToBytes(SECRET)), textField(D, 'x')];
    expect(errorCode(craft({ fields: twice }))).toBe('duplicate_field');
    // A p field of the wrong length is skipped, so this one has no hash at all.
    const short = [bytesField(P, hexToBytes(HASH).subarray(0, 31)), textField(D, 'x')];
    expect(errorCode(craft({ fields: short }))).toBe('missing_payment_hash');
  });

  it('rejects a field that runs into the signature, and non-zero padding', () => {
    const truncated = [bytesField(P, hexToBytes(HASH)), [D, 31, 31, 1, 2, 3]];
    expect(errorCode(craft({ fields: truncated }))).toBe('truncated_field');
    const hashWords = bech32.toWords(hexToBytes(HASH));
    const dirty = [...hashWords.slice(0, -1), hashWords.at(-1)! | 1];
    expect(errorCode(craft({ fields: [field(P, dirty), textField(D, 'x')] }))).toBe('bad_padding');
  });

  it('rejects a description that is not UTF-8', () => {
    const fields = [bytesField(P, hexToBytes(HASH)), bytesField(D, new Uint8Array([0xc3, 0x28]))];
    expect(errorCode(craft({ fields }))).toBe('bad_description');
  });

  it('checks feature bits: unknown even bits fail, odd ones pass, dependencies must be set', () => {
    const withFeatures = (bits: number[]) => {
      const width = Math.max(...bits) + 1;
      const words = Array.from({ length: Math.ceil(width / 5) }, () => 0);
      for (const bit of bits) words[words.length - 1 - Math.floor(bit / 5)]! |= 1 << (bit % 5);
      return [bytesField(P, hexToBytes(HASH)), textField(D, 'f'), field(NINE, words)];
    };
    expect(errorCode(craft({ fields: withFeatures([8, 14, 17]) }))).toBe('no error');
    expect(errorCode(craft({ fields: withFeatures([9, 15, 101]) }))).toBe('no error');
    expect(errorCode(craft({ fields: withFeatures([8, 14, 102]) }))).toBe('unknown_required_feature');
    expect(errorCode(craft({ fields: withFeatures([14]) }))).toBe('missing_feature_dependency');
    expect(errorCode(craft({ fields: withFeatures([8, 16]) }))).toBe('missing_feature_dependency');
  });

  it('reads the expiry field and refuses one too large to be exact', () => {
    const expiry = (words: number[]) => [bytesField(P, hexToBytes(HASH)), textField(D, 'x'), field(X, words)];
    const inv = decodeInvoice(craft({ fields: expiry([1, 28]) }));
    expect(inv.expirySeconds).toBe(60);
    expect(inv.expiresAt).toBe(TIMESTAMP + 60);
    expect(errorCode(craft({ fields: expiry(Array.from({ length: 11 }, () => 31)) }))).toBe('bad_number');
  });

  it('refuses non-strings, invalid characters and absurd lengths', () => {
    expect(errorCode(42 as unknown as string)).toBe('not_a_string');
    expect(errorCode(craft().replace(/.$/, 'b'))).toBe('invalid_character');
    expect(errorCode(` ${craft()}`)).toBe('invalid_character');
    expect(errorCode(`lnbc1${'q'.repeat(8000)}`)).toBe('too_long');
    expect(errorCode('')).toBe('no_separator');
  });
});

describe('expiry and preimage helpers', () => {
  it('isExpired compares against timestamp + expiry, with a margin', () => {
    const inv = { expiresAt: 1000 };
    expect(isExpired(inv, 999)).toBe(false);
    expect(isExpired(inv, 1000)).toBe(true);
    expect(isExpired(inv, 990, 10)).toBe(true);
    expect(isExpired(inv, 989, 10)).toBe(false);
  });

  it('verifyPreimage checks sha256(preimage) against the payment hash', () => {
    const preimage = '00'.repeat(32);
    const hash = sha256Hex(new Uint8Array(32));
    expect(hash).toBe('66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925');
    expect(verifyPreimage(preimage, hash)).toBe(true);
    expect(verifyPreimage(preimage, hash.toUpperCase())).toBe(true);
    expect(verifyPreimage('01'.repeat(32), hash)).toBe(false);
    expect(verifyPreimage('zz', hash)).toBe(false);
    expect(verifyPreimage(preimage, 'abc')).toBe(false);
  });
});
