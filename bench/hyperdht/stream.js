// scripts/bench's baseline for one tunnelled stream: hyperdht (holesail's stack: a Noise
// secret-stream over a UDX stream) with both ends in this one Node process. A testnet of 3 DHT
// nodes on 127.0.0.1 (no public DHT), a server and a client node bootstrapped from it, one
// encrypted stream, BYTES (default 1 GiB) written one way, client to server, with backpressure.
// Prints: result bytes=N seconds=S bits_per_second=B cpu_seconds=C cpu_pct=P remote=HOST:PORT
// (CPU: this process's user + system time during the transfer; 100% = one core).
'use strict'
const createTestnet = require('hyperdht/testnet')

const BYTES = Number(process.argv[2] || 1024 * 1024 * 1024)
const CHUNK = 64 * 1024
const LIMIT_MS = Number(process.argv[3] || 180000)

function fail(msg) {
  console.error('stream.js: ' + msg)
  process.exit(1)
}
setTimeout(() => fail('no result within ' + LIMIT_MS + ' ms'), LIMIT_MS).unref()

async function main() {
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const a = testnet.createNode()
  const b = testnet.createNode()
  const keyPair = a.defaultKeyPair
  let received = 0
  let first = 0
  let t0 = 0
  let cpu0 = null
  const done = new Promise((resolve, reject) => {
    const server = a.createServer((socket) => {
      socket.on('error', reject)
      socket.on('data', (data) => {
        if (received === 0) {
          first = data.length
          t0 = process.hrtime.bigint()
          cpu0 = process.cpuUsage()
        }
        received += data.length
        if (received >= BYTES) {
          const secs = Number(process.hrtime.bigint() - t0) / 1e9
          const cpu = process.cpuUsage(cpu0)
          const raw = socket.rawStream
          resolve({ secs, cpu: (cpu.user + cpu.system) / 1e6, remote: raw ? raw.remoteHost + ':' + raw.remotePort : '?' })
        }
      })
    })
    server.listen(keyPair).then(() => {
      const socket = b.connect(keyPair.publicKey)
      socket.on('error', reject)
      socket.once('open', () => {
        const block = Buffer.alloc(CHUNK, 0x61)
        let sent = 0
        const pump = () => {
          while (sent < BYTES) {
            const n = Math.min(CHUNK, BYTES - sent)
            sent += n
            if (!socket.write(n === CHUNK ? block : block.subarray(0, n))) {
              socket.once('drain', pump)
              return
            }
          }
        }
        pump()
      })
    }, reject)
  })
  const r = await done
  // the first chunk's arrival starts the clock, so it is not counted
  const bps = ((received - first) * 8) / r.secs
  console.log(
    `result bytes=${received} seconds=${r.secs.toFixed(3)} bits_per_second=${Math.round(bps)}` +
      ` cpu_seconds=${r.cpu.toFixed(2)} cpu_pct=${((100 * r.cpu) / r.secs).toFixed(0)} remote=${r.remote}`
  )
  process.exit(0) // tearing the testnet down takes seconds and measures nothing
}
main().catch((e) => fail(e && e.stack ? e.stack : String(e)))
