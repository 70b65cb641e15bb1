namespace MobileUNet.Export.Tflite;

/// <summary>TFLite <c>TensorType</c> codes (schema.fbs) the importer names in errors.</summary>
enum TfliteTensorType : byte { Float32 = 0, Float16 = 1, Int32 = 2, UInt8 = 3, Int64 = 4, String = 5, Bool = 6, Int16 = 7, Complex64 = 8, Int8 = 9 }

/// <summary>TFLite <c>Padding</c>: SAME pads so that out = ceil(in / stride); VALID does not pad.</summary>
enum TflitePadding : byte { Same = 0, Valid = 1 }

/// <summary>TFLite <c>ActivationFunctionType</c>: an activation fused into the op before it.</summary>
enum TfliteActivation : byte { None = 0, Relu = 1, ReluN1To1 = 2, Relu6 = 3, Tanh = 4, SignBit = 5 }

/// <summary>TFLite <c>BuiltinOperator</c> codes of the ops the importer knows (the full enum has ~200).</summary>
enum TfliteBuiltin
{
    Add = 0,
    AveragePool2D = 1,
    Conv2D = 3,
    DepthwiseConv2D = 4,
    Dequantize = 6,
    Logistic = 14,
    Mul = 18,
    Relu = 19,
    ResizeBilinear = 23,
    Custom = 32,
    Mean = 40,
    HardSwish = 117,
}

/// <summary>
/// An operator code: <see cref="Builtin"/> resolved from both <c>builtin_code</c> and the older
/// <c>deprecated_builtin_code</c> (schema 3a: files written before it only have the byte, newer ones write 127
/// there for codes above 127, so the larger of the two is the code), and the custom op's name.
/// </summary>
sealed record TfliteOperatorCode(int Builtin, string? CustomCode, int Version)
{
    public string Name => Builtin == (int)TfliteBuiltin.Custom
        ? $"custom op '{CustomCode}'"
        : BuiltinNames.TryGetValue(Builtin, out var name) ? $"builtin op {name} ({Builtin})" : $"builtin op {Builtin}";

    // schema.fbs names of the supported ops and of the common ones an unsupported-op error is likely to name.
    static readonly Dictionary<int, string> BuiltinNames = new()
    {
        [0] = "ADD",
        [1] = "AVERAGE_POOL_2D",
        [2] = "CONCATENATION",
        [3] = "CONV_2D",
        [4] = "DEPTHWISE_CONV_2D",
        [6] = "DEQUANTIZE",
        [9] = "FULLY_CONNECTED",
        [14] = "LOGISTIC",
        [17] = "MAX_POOL_2D",
        [18] = "MUL",
        [19] = "RELU",
        [21] = "RELU6",
        [22] = "RESHAPE",
        [23] = "RESIZE_BILINEAR",
        [25] = "SOFTMAX",
        [28] = "TANH",
        [32] = "CUSTOM",
        [34] = "PAD",
        [39] = "TRANSPOSE",
        [40] = "MEAN",
        [41] = "SUB",
        [42] = "DIV",
        [45] = "STRIDED_SLICE",
        [49] = "SPLIT",
        [67] = "TRANSPOSE_CONV",
        [97] = "RESIZE_NEAREST_NEIGHBOR",
        [114] = "QUANTIZE",
        [117] = "HARD_SWISH",
    };
}

/// <summary>A tensor: NHWC shape, element type, and the buffer holding its constant data (buffer 0 = none).</summary>
sealed record TfliteTensor(string Name, int[] Shape, TfliteTensorType Type, int Buffer)
{
    public long ElementCount => Shape.Aggregate(1L, (n, d) => n * d);
}

/// <summary>Builtin options of the ops the importer supports (tables of schema.fbs, field for field).</summary>
abstract record TfliteOptions;

sealed record Conv2DOptions(TflitePadding Padding, int StrideW, int StrideH, TfliteActivation Activation, int DilationW, int DilationH) : TfliteOptions;

sealed record DepthwiseConv2DOptions(TflitePadding Padding, int StrideW, int StrideH, int DepthMultiplier, TfliteActivation Activation,
    int DilationW, int DilationH) : TfliteOptions;

sealed record Pool2DOptions(TflitePadding Padding, int StrideW, int StrideH, int FilterW, int FilterH, TfliteActivation Activation) : TfliteOptions;

/// <summary>AddOptions and MulOptions: only a fused activation.</summary>
sealed record ActivationOptions(TfliteActivation Activation) : TfliteOptions;

sealed record ReducerOptions(bool KeepDims) : TfliteOptions;

sealed record ResizeBilinearOptions(bool AlignCorners, bool HalfPixelCenters) : TfliteOptions;

/// <summary>
/// One operator: tensor indices in and out (-1 is an omitted optional input), its builtin options (null for ops
/// without any or that the importer does not read) and the raw custom options of a custom op.
/// </summary>
sealed record TfliteOperator(int OpcodeIndex, int[] Inputs, int[] Outputs, TfliteOptions? Options, byte[] CustomOptions);

sealed record TfliteSubgraph(string? Name, IReadOnlyList<TfliteTensor> Tensors, int[] Inputs, int[] Outputs, IReadOnlyList<TfliteOperator> Operators);

/// <summary>A TFLite model as the importer sees it: schema version, operator codes, subgraphs, constant buffers.</summary>
sealed record TfliteModel(string Source, uint Version, string? Description, IReadOnlyList<TfliteOperatorCode> OperatorCodes,
    IReadOnlyList<TfliteSubgraph> Subgraphs, IReadOnlyList<byte[]> Buffers)
{
    /// <summary>The schema version this reader understands (schema.fbs has been at 3 since 2017).</summary>
    public const uint SchemaVersion = 3;

    /// <summary>Files above this are refused before they are read: TFLite segmentation models are a few MB.</summary>
    public const long MaxFileBytes = 256L << 20;

    public const string FileIdentifier = "TFL3";

    /// <summary>Reads and checks a .tflite file; anything that is not a TFLite v3 flatbuffer fails with a message naming the file.</summary>
    public static TfliteModel Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such TFLite file.", path);
        long size = new FileInfo(path).Length;
        if (size > MaxFileBytes)
            throw new InvalidDataException($"{path}: {size:N0} bytes is larger than the {MaxFileBytes >> 20} MiB a TFLite model may have here.");
        return Parse(File.ReadAllBytes(path), path);
    }

    public static TfliteModel Parse(byte[] bytes, string source)
    {
        try
        {
            return ParseChecked(bytes, source);
        }
        catch (Exception e) when (e is OverflowException or ArgumentOutOfRangeException or IndexOutOfRangeException or ArgumentException)
        {
            // A corrupt count or offset that slipped past the bounds checks as an arithmetic or decoding failure.
            throw new InvalidDataException($"{source}: not a valid TFLite file ({e.Message}).", e);
        }
    }

    static TfliteModel ParseChecked(byte[] bytes, string source)
    {
        var buffer = new FlatBuffer(bytes, source);
        if (buffer.Length < 8 || buffer.Identifier() != FileIdentifier)
            throw new InvalidDataException($"{source}: not a TFLite model (no \"{FileIdentifier}\" file identifier at byte 4).");
        var model = buffer.Root();
        uint version = model.U32(0);
        if (version != SchemaVersion)
            throw new InvalidDataException($"{source}: TFLite schema version {version} is not supported (this reader reads version {SchemaVersion}).");

        var codes = model.Tables(1).Select(c => new TfliteOperatorCode(
            Math.Max(c.I32(3), c.U8(0)), c.String(1), c.I32(2, 1))).ToList();
        var buffers = model.Tables(4).Select(b => BufferData(buffer, b)).ToList();
        var subgraphs = model.Tables(2).Select(g => new TfliteSubgraph(
            g.String(4),
            g.Tables(0).Select(t => new TfliteTensor(t.String(3) ?? "", t.Ints(0), (TfliteTensorType)t.U8(1), checked((int)t.U32(2)))).ToList(),
            g.Ints(1), g.Ints(2),
            g.Tables(3).Select(o => ReadOperator(o, codes, source)).ToList())).ToList();
        if (subgraphs.Count == 0) throw new InvalidDataException($"{source}: the TFLite model has no subgraph.");
        foreach (var g in subgraphs)
            foreach (var t in g.Tensors)
                if (t.Buffer < 0 || t.Buffer >= Math.Max(buffers.Count, 1))
                    throw buffer.Corrupt($"tensor '{t.Name}' names buffer {t.Buffer} of {buffers.Count}");
        return new TfliteModel(source, version, model.String(3), codes, subgraphs, buffers);
    }

    // Models over 2 GB keep buffers after the flatbuffer (offset, size); smaller ones inline them as data.
    static byte[] BufferData(FlatBuffer file, FlatTable b)
    {
        ulong offset = b.U64(1), size = b.U64(2);
        if (offset > 1)
        {
            if (offset + size > (ulong)file.Length) throw file.Corrupt($"buffer at {offset} + {size} is outside the file");
            return file.Span((long)offset, (long)size).ToArray();
        }
        return b.Bytes(0);
    }

    static TfliteOperator ReadOperator(FlatTable o, IReadOnlyList<TfliteOperatorCode> codes, string source)
    {
        int index = checked((int)o.U32(0));
        if (index >= codes.Count) throw new InvalidDataException($"{source}: not a valid TFLite file (operator code {index} of {codes.Count}).");
        var options = o.Table(4) is { } t ? ReadOptions((TfliteBuiltin)codes[index].Builtin, t) : null;
        return new TfliteOperator(index, o.Ints(1), o.Ints(2), options, o.Bytes(5));
    }

    // Options are read by the operator's builtin code, not by the union's type byte: the op decides the table.
    static TfliteOptions? ReadOptions(TfliteBuiltin op, FlatTable t) => op switch
    {
        TfliteBuiltin.Conv2D => new Conv2DOptions((TflitePadding)t.U8(0), t.I32(1), t.I32(2), (TfliteActivation)t.U8(3), t.I32(4, 1), t.I32(5, 1)),
        TfliteBuiltin.DepthwiseConv2D => new DepthwiseConv2DOptions((TflitePadding)t.U8(0), t.I32(1), t.I32(2), t.I32(3), (TfliteActivation)t.U8(4),
            t.I32(5, 1), t.I32(6, 1)),
        TfliteBuiltin.AveragePool2D => new Pool2DOptions((TflitePadding)t.U8(0), t.I32(1), t.I32(2), t.I32(3), t.I32(4), (TfliteActivation)t.U8(5)),
        TfliteBuiltin.Add or TfliteBuiltin.Mul => new ActivationOptions((TfliteActivation)t.U8(0)),
        TfliteBuiltin.Mean => new ReducerOptions(t.Bool(0)),
        TfliteBuiltin.ResizeBilinear => new ResizeBilinearOptions(t.Bool(2), t.Bool(3)),
        _ => null,
    };
}
