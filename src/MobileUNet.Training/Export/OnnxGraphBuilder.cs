using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace MobileUNet.Export;

/// <summary>
/// Appends nodes, initializers and graph inputs/outputs to one ONNX <see cref="GraphProto"/>, naming every tensor
/// uniquely. <see cref="ComputeType"/> is the element type of weights and activations (float or float16), so
/// the same walk over the model writes the fp32 and the fp16 graph.
/// </summary>
sealed class OnnxGraphBuilder(GraphProto graph, OnnxElementType computeType)
{
    readonly HashSet<string> names = [];

    public GraphProto Graph => graph;
    public OnnxElementType ComputeType => computeType;

    public string Unique(string name)
    {
        var candidate = name;
        for (int i = 1; !names.Add(candidate); i++) candidate = $"{name}_{i}";
        return candidate;
    }

    /// <summary>A weight or constant in the compute type.</summary>
    public string Weight(string name, ReadOnlySpan<float> values, params long[] dims) =>
        computeType == OnnxElementType.Float16 ? Initializer(Tensors.Half(Unique(name), values, dims)) : Initializer(Tensors.Float(Unique(name), values, dims));

    public string Initializer(TensorProto tensor)
    {
        names.Add(tensor.Name);
        graph.Initializer.Add(tensor);
        return tensor.Name;
    }

    public string Node(string opType, string name, IEnumerable<string> inputs, IEnumerable<AttributeProto>? attributes = null, string? output = null, string domain = "")
    {
        var node = new NodeProto { OpType = opType, Name = Unique(name + "/" + opType), Domain = domain };
        node.Input.AddRange(inputs);
        var outputName = output ?? Unique(name + "/" + opType + ":0");
        names.Add(outputName);
        node.Output.Add(outputName);
        if (attributes is not null) node.Attribute.AddRange(attributes);
        graph.Node.Add(node);
        return outputName;
    }

    public void Input(string name, OnnxElementType type, params object[] dims) => graph.Input.Add(ValueInfo(Claim(name), type, dims));

    public void Output(string name, OnnxElementType type, params object[] dims) => graph.Output.Add(ValueInfo(name, type, dims));

    string Claim(string name) => names.Add(name) ? name : throw new InvalidOperationException($"ONNX tensor name '{name}' is used twice.");

    /// <summary>A tensor value description; a dim is a fixed size (int/long) or a symbolic name (string).</summary>
    public static ValueInfoProto ValueInfo(string name, OnnxElementType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string symbol => new TensorShapeProto.Types.Dimension { DimParam = symbol },
                int n => new TensorShapeProto.Types.Dimension { DimValue = n },
                long n => new TensorShapeProto.Types.Dimension { DimValue = n },
                _ => throw new ArgumentException($"dimension {d} must be a size or a symbol"),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}

/// <summary>ONNX TensorProto.DataType codes used here.</summary>
internal enum OnnxElementType
{
    Float = 1,
    Uint8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
    Float16 = 10,
}

/// <summary>Attribute and tensor constructors: raw little-endian data, the compact form ONNX Runtime reads fastest.</summary>
static class Tensors
{
    public static TensorProto Float(string name, ReadOnlySpan<float> values, params long[] dims) =>
        Raw(name, OnnxElementType.Float, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto Half(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var halves = new Half[values.Length];
        for (int i = 0; i < values.Length; i++) halves[i] = (Half)values[i];
        return Raw(name, OnnxElementType.Float16, MemoryMarshal.AsBytes(halves.AsSpan()), dims);
    }

    public static TensorProto Int64(string name, ReadOnlySpan<long> values, params long[] dims) =>
        Raw(name, OnnxElementType.Int64, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto Int32(string name, ReadOnlySpan<int> values, params long[] dims) =>
        Raw(name, OnnxElementType.Int32, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto Int8(string name, ReadOnlySpan<sbyte> values, params long[] dims) =>
        Raw(name, OnnxElementType.Int8, MemoryMarshal.AsBytes(values), dims);

    public static TensorProto Uint8(string name, ReadOnlySpan<byte> values, params long[] dims) =>
        Raw(name, OnnxElementType.Uint8, values, dims);

    static TensorProto Raw(string name, OnnxElementType type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };
}
