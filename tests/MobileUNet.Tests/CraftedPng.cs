using System.Buffers.Binary;
using System.IO.Compression;

namespace MobileUNet.Tests;

/// <summary>
/// Decompression bombs for the image-limit tests of the library and the service (linked into both test projects):
/// a few KB that claim gigapixels.
/// </summary>
public static class CraftedPng
{
    /// <summary>A PNG whose IHDR claims width x height RGB, with a small zlib stream of zero rows (the repro).</summary>
    public static byte[] Bomb(int width, int height, int rows = 50)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = 2;
        Chunk(ms, "IHDR", ihdr);
        using (var z = new MemoryStream())
        {
            using (var zlib = new ZLibStream(z, CompressionLevel.SmallestSize, leaveOpen: true))
            {
                var row = new byte[1 + (long)width * 3 <= 1 << 20 ? 1 + width * 3 : 1 << 20];
                for (int r = 0; r < rows; r++) zlib.Write(row);
            }
            Chunk(ms, "IDAT", z.ToArray());
        }
        Chunk(ms, "IEND", []);
        return ms.ToArray();

        static void Chunk(Stream s, string type, byte[] data)
        {
            var head = new byte[8];
            BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
            System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
            s.Write(head);
            s.Write(data);
            var crc = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32([.. head.AsSpan(4).ToArray(), .. data]));
            s.Write(crc);
        }

        // PNG's CRC-32 (ISO-HDLC, reflected 0xEDB88320), bitwise: tiny inputs, no table needed.
        static uint Crc32(byte[] bytes)
        {
            uint c = 0xFFFFFFFF;
            foreach (var b in bytes)
            {
                c ^= b;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            }
            return ~c;
        }
    }
}
