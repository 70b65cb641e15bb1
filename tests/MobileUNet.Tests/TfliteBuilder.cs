using System.Buffers.Binary;
using System.Text;

namespace MobileUNet.Tests;

/// <summary>
/// A FlatBuffers table for <see cref="FlatBufferWriter"/>: field index -> value. Values are byte, bool, int, uint,
/// string, int[], byte[], a nested table, or a list of tables.
/// </summary>
sealed class FbTable : Dictionary<int, object>;

/// <summary>
/// Writes FlatBuffers front to back (a parent before its children, so every uoffset points forward, as the format
/// requires), enough to craft small TFLite files for tests: ops the MediaPipe model lacks, broken or unsupported
/// graphs.
/// </summary>
static class FlatBufferWriter
{
    public static byte[] Write(FbTable root, string identifier)
    {
        var buffer = new List<byte>(new byte[8]);
        for (int i = 0; i < 4; i++) buffer[4 + i] = (byte)identifier[i];
        int at = WriteTable(buffer, root);
        Patch(buffer, 0, (uint)at);
        return [.. buffer];
    }

    static void Align(List<byte> b, int n)
    {
        while (b.Count % n != 0) b.Add(0);
    }

    static void Patch(List<byte> b, int at, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        for (int i = 0; i < 4; i++) b[at + i] = bytes[i];
    }

    static void Add(List<byte> b, uint value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        b.AddRange(bytes.ToArray());
    }

    static int WriteTable(List<byte> b, FbTable table)
    {
        var fields = table.OrderBy(f => f.Key).ToList();
        int slots = fields.Count == 0 ? 0 : fields[^1].Key + 1;
        // Inline layout after the 4-byte soffset: scalars by size, references as 4-byte uoffsets.
        var layout = new List<(int Field, int Offset, object Value)>();
        int size = 4;
        foreach (var (field, value) in fields)
        {
            int width = value is byte or bool ? 1 : 4;
            size = (size + width - 1) / width * width;
            layout.Add((field, size, value));
            size += width;
        }
        size = (size + 3) / 4 * 4;

        Align(b, 2);
        int vtable = b.Count;
        var vt = new ushort[2 + slots];
        vt[0] = (ushort)(4 + 2 * slots);
        vt[1] = (ushort)size;
        foreach (var (field, offset, _) in layout) vt[2 + field] = (ushort)offset;
        foreach (var v in vt) { b.Add((byte)v); b.Add((byte)(v >> 8)); }
        Align(b, 4);
        int start = b.Count;
        b.AddRange(new byte[size]);
        Patch(b, start, (uint)(start - vtable));

        var references = new List<(int Slot, object Value)>();
        foreach (var (_, offset, value) in layout)
        {
            int at = start + offset;
            switch (value)
            {
                case byte v: b[at] = v; break;
                case bool v: b[at] = v ? (byte)1 : (byte)0; break;
                case int v: Patch(b, at, (uint)v); break;
                case uint v: Patch(b, at, v); break;
                default: references.Add((at, value)); break;
            }
        }
        foreach (var (slot, value) in references) Patch(b, slot, (uint)(WriteReferenced(b, value) - slot));
        return start;
    }

    static int WriteReferenced(List<byte> b, object value)
    {
        Align(b, 4);
        int at = b.Count;
        switch (value)
        {
            case string s:
                Add(b, (uint)Encoding.UTF8.GetByteCount(s));
                b.AddRange(Encoding.UTF8.GetBytes(s));
                b.Add(0);
                return at;
            case byte[] bytes:
                Add(b, (uint)bytes.Length);
                b.AddRange(bytes);
                return at;
            case int[] ints:
                Add(b, (uint)ints.Length);
                foreach (var i in ints) Add(b, (uint)i);
                return at;
            case FbTable table:
                return WriteTable(b, table);
            case List<FbTable> tables:
                Add(b, (uint)tables.Count);
                int first = b.Count;
                b.AddRange(new byte[4 * tables.Count]);
                for (int i = 0; i < tables.Count; i++)
                {
                    int slot = first + 4 * i;
                    Patch(b, slot, (uint)(WriteTable(b, tables[i]) - slot));
                }
                return at;
            default:
                throw new ArgumentException($"cannot write {value.GetType().Name}");
        }
    }
}

/// <summary>Builds a one-subgraph float32 TFLite model tensor by tensor and op by op (schema.fbs field numbers).</summary>
sealed class TfliteBuilder
{
    readonly List<FbTable> tensors = [], operators = [], codes = [], buffers = [new FbTable()];
    readonly Dictionary<(int, string?), int> codeIndex = [];

    /// <summary>An activation (no data) or a constant (float32 or int32 data); returns its index.</summary>
    public int Tensor(string name, int[] shape, float[]? data = null, int[]? ints = null)
    {
        uint buffer = 0;
        if (data is not null || ints is not null)
        {
            var bytes = new byte[4 * (data?.Length ?? ints!.Length)];
            for (int i = 0; i < bytes.Length / 4; i++)
                if (data is not null) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
                else BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4 * i), ints![i]);
            buffers.Add(new FbTable { [0] = bytes });
            buffer = (uint)(buffers.Count - 1);
        }
        tensors.Add(new FbTable { [0] = shape, [1] = (byte)(ints is not null ? 2 : 0), [2] = buffer, [3] = name });
        return tensors.Count - 1;
    }

    /// <summary>An operator; <paramref name="options"/> is its builtin options table with the union type it goes with.</summary>
    public void Op(int builtin, int[] inputs, int output, (byte Type, FbTable Table)? options = null, string? custom = null, byte[]? customOptions = null)
    {
        if (!codeIndex.TryGetValue((builtin, custom), out var index))
        {
            var code = new FbTable { [0] = (byte)Math.Min(builtin, 127), [3] = builtin };
            if (custom is not null) code[1] = custom;
            codes.Add(code);
            codeIndex[(builtin, custom)] = index = codes.Count - 1;
        }
        var op = new FbTable { [0] = (uint)index, [1] = inputs, [2] = new[] { output } };
        if (options is { } o) { op[3] = o.Type; op[4] = o.Table; }
        if (customOptions is not null) op[5] = customOptions;
        operators.Add(op);
    }

    public byte[] Build(int input, int output, uint version = 3)
    {
        var graph = new FbTable { [0] = tensors, [1] = new[] { input }, [2] = new[] { output }, [3] = operators, [4] = "main" };
        var model = new FbTable { [0] = version, [1] = codes, [2] = new List<FbTable> { graph }, [3] = "crafted for tests", [4] = buffers };
        return FlatBufferWriter.Write(model, "TFL3");
    }
}
