using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Onnx;

namespace MobileUNet.Export.Tflite;

/// <summary>
/// Walks one TFLite subgraph in its execution order and appends the equivalent ONNX nodes. TFLite activations
/// are NHWC; every activation here becomes NCHW, weights are permuted once (OHWI to OIHW), SAME padding becomes
/// explicit pads computed from the static shapes, and fused activations become nodes of their own.
/// </summary>
sealed class TfliteGraphConverter(TfliteModel model, OnnxGraphBuilder g)
{
    /// <summary>MediaPipe's transposed convolution (mediapipe/util/tflite/operations/transpose_conv_bias.cc).</summary>
    public const string TransposeConvBias = "Convolution2DTransposeBias";

    static readonly string SupportedNames =
        "CONV_2D, DEPTHWISE_CONV_2D, HARD_SWISH, RELU, LOGISTIC, ADD, MUL, AVERAGE_POOL_2D, MEAN, RESIZE_BILINEAR, DEQUANTIZE of float16 constants, custom " + TransposeConvBias;

    static readonly HashSet<TfliteBuiltin> SupportedBuiltins =
    [
        TfliteBuiltin.Add, TfliteBuiltin.AveragePool2D, TfliteBuiltin.Conv2D, TfliteBuiltin.DepthwiseConv2D, TfliteBuiltin.Dequantize,
        TfliteBuiltin.Logistic, TfliteBuiltin.Mul, TfliteBuiltin.Relu, TfliteBuiltin.ResizeBilinear, TfliteBuiltin.Mean, TfliteBuiltin.HardSwish,
    ];

    readonly TfliteSubgraph graph = model.Subgraphs[0];
    readonly Dictionary<int, string> values = [];
    readonly Dictionary<int, TfliteOperatorCode> producers = [];
    readonly Dictionary<int, float[]> folded = [];
    string? zero, six, minusOne, one;

    public Dictionary<string, int> OperatorCounts { get; } = [];
    public long Parameters { get; private set; }
    public long Macs { get; private set; }

    /// <summary>Converts the graph; returns the square input size S.</summary>
    public int Convert()
    {
        if (model.Subgraphs.Count != 1)
            throw Fail($"has {model.Subgraphs.Count} subgraphs; only single-subgraph models (no control flow) can be imported");
        CheckOperators();
        if (graph.Inputs.Length != 1) throw Fail($"has {graph.Inputs.Length} inputs; a segmentation model takes one image");
        var input = Tensor(graph.Inputs[0]);
        CheckFloat(input);
        if (input.Shape is not [1, var h, var w, 3]) throw Fail($"input '{input.Name}' is [{Dims(input)}], expected one RGB image [1,S,S,3]");
        if (h != w) throw Fail($"input '{input.Name}' is {h}x{w}, not square; MobileUNet.NET segmenters take a square S x S input");
        g.Input(OnnxExporter.InputName, OnnxElementType.Float, OnnxExporter.BatchSymbol, 3L, (long)h, (long)w);
        values[graph.Inputs[0]] = OnnxExporter.InputName;

        foreach (var op in graph.Operators) Emit(op);

        if (graph.Outputs.Length != 1) throw Fail($"has {graph.Outputs.Length} outputs; a segmentation model has one mask");
        var output = Tensor(graph.Outputs[0]);
        if (output.Shape is not [1, var oh, var ow, 1] || oh != h || ow != w)
            throw Fail($"output '{output.Name}' is [{Dims(output)}], expected one mask [1,{h},{w},1]");
        // Every ONNX model this project writes outputs probabilities (the exporter ends in Sigmoid too): only an
        // output the graph itself squashes with LOGISTIC is known to be one.
        if (!producers.TryGetValue(graph.Outputs[0], out var last) || last.Builtin != (int)TfliteBuiltin.Logistic)
            throw Fail($"output '{output.Name}' is not made by LOGISTIC, so it is not known to be a probability");
        g.Node("Identity", OnnxExporter.OutputName, [values[graph.Outputs[0]]], output: OnnxExporter.OutputName);
        g.Output(OnnxExporter.OutputName, OnnxElementType.Float, OnnxExporter.BatchSymbol, 1L, (long)h, (long)w);
        return h;
    }

    // All unsupported ops in one message, before any node is written.
    void CheckOperators()
    {
        var unsupported = graph.Operators.Select(o => model.OperatorCodes[o.OpcodeIndex]).Where(c => !Supported(c))
            .Select(c => c.Name).Distinct().ToList();
        if (unsupported.Count > 0)
            throw Fail($"{string.Join(", ", unsupported)} {(unsupported.Count == 1 ? "is" : "are")} not supported by the TFLite importer (supported: {SupportedNames})");
    }

    static bool Supported(TfliteOperatorCode code) => code.Builtin == (int)TfliteBuiltin.Custom
        ? code.CustomCode == TransposeConvBias
        : SupportedBuiltins.Contains((TfliteBuiltin)code.Builtin);

    void Emit(TfliteOperator op)
    {
        var code = model.OperatorCodes[op.OpcodeIndex];
        if (op.Outputs.Length != 1) throw Fail($"{code.Name} has {op.Outputs.Length} outputs, expected one");
        var outTensor = Tensor(op.Outputs[0]);
        CheckFloat(outTensor);
        if (code.Builtin == (int)TfliteBuiltin.Dequantize)
        {
            Dequantize(op, outTensor);
            return;
        }
        string name = outTensor.Name.Length > 0 ? outTensor.Name : $"t{op.Outputs[0]}";
        string y = (TfliteBuiltin)code.Builtin switch
        {
            TfliteBuiltin.Conv2D => Conv(op, name, Options<Conv2DOptions>(op, code)),
            TfliteBuiltin.DepthwiseConv2D => Depthwise(op, name, Options<DepthwiseConv2DOptions>(op, code)),
            TfliteBuiltin.AveragePool2D => AveragePool(op, name, Options<Pool2DOptions>(op, code)),
            TfliteBuiltin.Add => Binary("Add", op, name, Options<ActivationOptions>(op, code).Activation),
            TfliteBuiltin.Mul => Binary("Mul", op, name, Options<ActivationOptions>(op, code).Activation),
            TfliteBuiltin.Mean => Mean(op, name, Options<ReducerOptions>(op, code)),
            TfliteBuiltin.ResizeBilinear => Resize(op, name, Options<ResizeBilinearOptions>(op, code)),
            TfliteBuiltin.HardSwish => g.Node("HardSwish", name, [Io(op, 1, 1).X]),
            TfliteBuiltin.Relu => g.Node("Relu", name, [Io(op, 1, 1).X]),
            TfliteBuiltin.Logistic => g.Node("Sigmoid", name, [Io(op, 1, 1).X]),
            TfliteBuiltin.Custom => TransposedConv(op, name),
            _ => throw Fail($"{code.Name} is not supported by the TFLite importer"),
        };
        values[op.Outputs[0]] = y;
        producers[op.Outputs[0]] = code;
        var key = code.Builtin == (int)TfliteBuiltin.Custom ? code.CustomCode! : ((TfliteBuiltin)code.Builtin).ToString();
        OperatorCounts[key] = OperatorCounts.GetValueOrDefault(key) + 1;
    }

    // Models stored in float16 dequantise their weights at load: fold that here, so the graph holds float32 weights.
    void Dequantize(TfliteOperator op, TfliteTensor output)
    {
        var input = op.Inputs.Length == 1 ? Tensor(op.Inputs[0]) : throw Fail($"DEQUANTIZE '{output.Name}' has {op.Inputs.Length} inputs");
        if (input.Type != TfliteTensorType.Float16 || !IsConstant(op.Inputs[0]))
            throw Fail($"DEQUANTIZE '{output.Name}' of a {input.Type} {(IsConstant(op.Inputs[0]) ? "constant" : "activation")}; only float16 constants import");
        var bytes = model.Buffers[input.Buffer];
        if (bytes.Length != input.ElementCount * 2 || input.ElementCount != output.ElementCount)
            throw Fail($"DEQUANTIZE '{output.Name}' has {bytes.Length} bytes of float16 data for [{Dims(input)}] -> [{Dims(output)}]");
        folded[op.Outputs[0]] = [.. MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(h => (float)h)];
    }

    T Options<T>(TfliteOperator op, TfliteOperatorCode code) where T : TfliteOptions =>
        op.Options as T ?? throw Fail($"{code.Name} has no {typeof(T).Name}");

    string Conv(TfliteOperator op, string name, Conv2DOptions o)
    {
        var (x, input, output) = Io(op, 2, 3);
        var weight = Weights(op.Inputs[1]);
        if (weight.Tensor.Shape is not [var cout, var kh, var kw, var cin] || cin != input.C || cout != output.C)
            throw Fail($"CONV_2D '{name}' filter is [{Dims(weight.Tensor)}] for {input.C} -> {output.C} channels");
        // OHWI -> OIHW.
        var w = new float[weight.Values.Length];
        for (int co = 0; co < cout; co++)
            for (int y = 0; y < kh; y++)
                for (int xx = 0; xx < kw; xx++)
                    for (int ci = 0; ci < cin; ci++)
                        w[((co * cin + ci) * kh + y) * kw + xx] = weight.Values[((co * kh + y) * kw + xx) * cin + ci];
        var bias = Bias(op, 2, cout);
        var conv = ConvNode(name, x, w, [cout, cin, kh, kw], bias, input, output, o.Padding, o.StrideH, o.StrideW, o.DilationH, o.DilationW, 1);
        Macs += (long)w.Length * output.H * output.W;
        return Activate(name, conv, o.Activation);
    }

    string Depthwise(TfliteOperator op, string name, DepthwiseConv2DOptions o)
    {
        var (x, input, output) = Io(op, 2, 3);
        var weight = Weights(op.Inputs[1]);
        if (weight.Tensor.Shape is not [1, var kh, var kw, var cout] || cout != output.C || cout % input.C != 0)
            throw Fail($"DEPTHWISE_CONV_2D '{name}' filter is [{Dims(weight.Tensor)}] for {input.C} -> {output.C} channels");
        // [1, KH, KW, C*m] -> [C*m, 1, KH, KW]: output channel c*m + j reads input channel c, as ONNX groups do.
        var w = new float[weight.Values.Length];
        for (int y = 0; y < kh; y++)
            for (int xx = 0; xx < kw; xx++)
                for (int c = 0; c < cout; c++)
                    w[(c * kh + y) * kw + xx] = weight.Values[(y * kw + xx) * cout + c];
        var bias = Bias(op, 2, cout);
        var conv = ConvNode(name, x, w, [cout, 1, kh, kw], bias, input, output, o.Padding, o.StrideH, o.StrideW, o.DilationH, o.DilationW, input.C);
        Macs += (long)w.Length * output.H * output.W;
        return Activate(name, conv, o.Activation);
    }

    string ConvNode(string name, string x, float[] w, long[] shape, float[] bias, Nhwc input, Nhwc output, TflitePadding padding,
        int strideH, int strideW, int dilationH, int dilationW, long groups)
    {
        var (top, bottom) = Pads(name, padding, input.H, output.H, strideH, (int)shape[2], dilationH);
        var (left, right) = Pads(name, padding, input.W, output.W, strideW, (int)shape[3], dilationW);
        Parameters += w.Length + bias.Length;
        return g.Node("Conv", name, [x, g.Weight(name + ".weight", w, shape), g.Weight(name + ".bias", bias, shape[0])],
        [
            Tensors.Ints("kernel_shape", shape[2], shape[3]), Tensors.Ints("strides", strideH, strideW),
            Tensors.Ints("pads", top, left, bottom, right), Tensors.Ints("dilations", dilationH, dilationW), Tensors.Int("group", groups),
        ]);
    }

    string AveragePool(TfliteOperator op, string name, Pool2DOptions o)
    {
        var (x, input, output) = Io(op, 1, 1);
        var (top, bottom) = Pads(name, o.Padding, input.H, output.H, o.StrideH, o.FilterH, 1);
        var (left, right) = Pads(name, o.Padding, input.W, output.W, o.StrideW, o.FilterW, 1);
        // TFLite averages over the pixels inside the image only: padding does not count.
        var pool = g.Node("AveragePool", name, [x],
        [
            Tensors.Ints("kernel_shape", o.FilterH, o.FilterW), Tensors.Ints("strides", o.StrideH, o.StrideW),
            Tensors.Ints("pads", top, left, bottom, right), Tensors.Int("count_include_pad", 0),
        ]);
        return Activate(name, pool, o.Activation);
    }

    string Binary(string opType, TfliteOperator op, string name, TfliteActivation activation)
    {
        if (op.Inputs.Length != 2) throw Fail($"{opType.ToUpperInvariant()} '{name}' has {op.Inputs.Length} inputs, expected two");
        bool constA = IsConstant(op.Inputs[0]), constB = IsConstant(op.Inputs[1]);
        if (constA && constB) throw Fail($"{opType.ToUpperInvariant()} '{name}' has two constant inputs");
        var a = constA ? Constant(op.Inputs[0], name + ".a") : Value(op.Inputs[0]);
        var b = constB ? Constant(op.Inputs[1], name + ".b") : Value(op.Inputs[1]);
        return Activate(name, g.Node(opType, name, [a, b]), activation);
    }

    string Mean(TfliteOperator op, string name, ReducerOptions o)
    {
        if (!o.KeepDims) throw Fail($"MEAN '{name}' drops its reduced axes (keep_dims false); only keep_dims true imports");
        var (x, _, _) = Io(op, 2, 2);
        // NHWC axis -> NCHW axis.
        long[] nchw = [0, 2, 3, 1];
        var axes = Ints(op.Inputs[1]).Select(a => a is >= -4 and < 4 ? nchw[(a + 4) % 4] : throw Fail($"MEAN '{name}' axis {a} is outside a 4-d tensor"))
            .Order().ToArray();
        return g.Node("ReduceMean", name, [x], [Tensors.Ints("axes", axes), Tensors.Int("keepdims", 1)]);
    }

    string Resize(TfliteOperator op, string name, ResizeBilinearOptions o)
    {
        var (x, input, output) = Io(op, 2, 2);
        if (Ints(op.Inputs[1]) is not [var h, var w] || h != output.H || w != output.W)
            throw Fail($"RESIZE_BILINEAR '{name}' size does not match its output [{output.H},{output.W}]");
        // Scales out/in: exact for the integer ratios segmentation decoders use; ONNX derives the size as floor(in * scale).
        float sh = (float)output.H / input.H, sw = (float)output.W / input.W;
        if ((int)Math.Floor(input.H * sh) != output.H || (int)Math.Floor(input.W * sw) != output.W)
            throw Fail($"RESIZE_BILINEAR '{name}' from {input.H}x{input.W} to {output.H}x{output.W} has no exact float scale");
        var scales = g.Initializer(Tensors.Float(g.Unique(name + ".scales"), [1f, 1f, sh, sw], 4));
        var mode = o.AlignCorners ? "align_corners" : o.HalfPixelCenters ? "half_pixel" : "asymmetric";
        return g.Node("Resize", name, [x, "", scales], [Tensors.String("mode", "linear"), Tensors.String("coordinate_transformation_mode", mode)]);
    }

    /// <summary>
    /// MediaPipe's <c>Convolution2DTransposeBias</c>: a TRANSPOSE_CONV with bias whose custom options are the raw
    /// bytes of a <c>TfLiteTransposeConvParams</c> struct: int32 padding (1 SAME, 2 VALID), stride_width, stride_height.
    /// </summary>
    string TransposedConv(TfliteOperator op, string name)
    {
        var (x, input, output) = Io(op, 3, 3);
        if (op.CustomOptions.Length < 12) throw Fail($"{TransposeConvBias} '{name}' has {op.CustomOptions.Length} bytes of options, expected 12");
        var raw = op.CustomOptions.AsSpan();
        int padding = BinaryPrimitives.ReadInt32LittleEndian(raw), strideW = BinaryPrimitives.ReadInt32LittleEndian(raw[4..]),
            strideH = BinaryPrimitives.ReadInt32LittleEndian(raw[8..]);
        if (padding is not (1 or 2) || strideW < 1 || strideH < 1)
            throw Fail($"{TransposeConvBias} '{name}' options (padding {padding}, stride {strideW}x{strideH}) are not a transposed convolution's");
        var weight = Weights(op.Inputs[1]);
        if (weight.Tensor.Shape is not [var cout, var kh, var kw, var cin] || cin != input.C || cout != output.C)
            throw Fail($"{TransposeConvBias} '{name}' filter is [{Dims(weight.Tensor)}] for {input.C} -> {output.C} channels");
        // OHWI -> ONNX ConvTranspose's [Cin, Cout, KH, KW].
        var w = new float[weight.Values.Length];
        for (int co = 0; co < cout; co++)
            for (int y = 0; y < kh; y++)
                for (int xx = 0; xx < kw; xx++)
                    for (int ci = 0; ci < cin; ci++)
                        w[((ci * cout + co) * kh + y) * kw + xx] = weight.Values[((co * kh + y) * kw + xx) * cin + ci];
        var bias = Bias(op, 2, cout);
        // The output size is the tensor's; the crop that gives it splits like TFLite's (the smaller half first).
        int totalH = (input.H - 1) * strideH + kh - output.H, totalW = (input.W - 1) * strideW + kw - output.W;
        if (totalH < 0 || totalW < 0) throw Fail($"{TransposeConvBias} '{name}' output {output.H}x{output.W} is larger than the kernel can reach");
        Parameters += w.Length + bias.Length;
        Macs += (long)w.Length * input.H * input.W;
        return g.Node("ConvTranspose", name, [x, g.Weight(name + ".weight", w, cin, cout, kh, kw), g.Weight(name + ".bias", bias, cout)],
        [
            Tensors.Ints("kernel_shape", kh, kw), Tensors.Ints("strides", strideH, strideW),
            Tensors.Ints("pads", totalH / 2, totalW / 2, totalH - totalH / 2, totalW - totalW / 2),
        ]);
    }

    string Activate(string name, string x, TfliteActivation activation) => activation switch
    {
        TfliteActivation.None => x,
        TfliteActivation.Relu => g.Node("Relu", name + ".relu", [x]),
        TfliteActivation.Relu6 => g.Node("Clip", name + ".relu6", [x, zero ??= g.Weight("clip.0", [0f]), six ??= g.Weight("clip.6", [6f])]),
        TfliteActivation.ReluN1To1 => g.Node("Clip", name + ".relu1", [x, minusOne ??= g.Weight("clip.-1", [-1f]), one ??= g.Weight("clip.1", [1f])]),
        TfliteActivation.Tanh => g.Node("Tanh", name + ".tanh", [x]),
        _ => throw Fail($"'{name}' has fused activation {activation}, which the importer does not support"),
    };

    // SAME: out = ceil(in / stride), the missing rows split with the smaller half first; VALID: no padding.
    (long Begin, long End) Pads(string name, TflitePadding padding, int inSize, int outSize, int stride, int kernel, int dilation)
    {
        if (stride < 1 || dilation < 1 || kernel < 1) throw Fail($"'{name}' has stride {stride}, dilation {dilation}, kernel {kernel}");
        int reach = (kernel - 1) * dilation + 1;
        int expected = padding == TflitePadding.Same ? (inSize + stride - 1) / stride : (inSize - reach + stride) / stride;
        if (expected != outSize) throw Fail($"'{name}' output is {outSize} pixels, but {padding} padding gives {expected}");
        if (padding == TflitePadding.Valid) return (0, 0);
        int total = Math.Max((outSize - 1) * stride + reach - inSize, 0);
        return (total / 2, total - total / 2);
    }

    readonly record struct Nhwc(int H, int W, int C);

    // The activation input, the input's and the output's NHWC shapes; checks the input count.
    (string X, Nhwc Input, Nhwc Output) Io(TfliteOperator op, int minInputs, int maxInputs)
    {
        var code = model.OperatorCodes[op.OpcodeIndex];
        if (op.Inputs.Length < minInputs || op.Inputs.Length > maxInputs) throw Fail($"{code.Name} has {op.Inputs.Length} inputs");
        return (Value(op.Inputs[0]), Shape(Tensor(op.Inputs[0])), Shape(Tensor(op.Outputs[0])));
    }

    Nhwc Shape(TfliteTensor t) => t.Shape is [1, var h, var w, var c] && h > 0 && w > 0 && c > 0
        ? new Nhwc(h, w, c)
        : throw Fail($"tensor '{t.Name}' is [{Dims(t)}]; the importer handles 4-d image tensors [1,H,W,C] only");

    string Value(int index)
    {
        if (values.TryGetValue(index, out var v)) return v;
        var t = Tensor(index);
        throw Fail(IsConstant(index) ? $"constant tensor '{t.Name}' is used where an image tensor is expected" : $"tensor '{t.Name}' is used before it is computed");
    }

    TfliteTensor Tensor(int index) =>
        index >= 0 && index < graph.Tensors.Count ? graph.Tensors[index] : throw Fail($"operator names tensor {index} of {graph.Tensors.Count}");

    bool IsConstant(int index) =>
        folded.ContainsKey(index) || Tensor(index).Buffer is var b and > 0 && b < model.Buffers.Count && model.Buffers[b].Length > 0;

    (TfliteTensor Tensor, float[] Values) Weights(int index)
    {
        var t = Tensor(index);
        if (!IsConstant(index)) throw Fail($"weights '{t.Name}' are not constant");
        CheckFloat(t);
        if (folded.TryGetValue(index, out var dequantized)) return (t, dequantized);
        var bytes = model.Buffers[t.Buffer];
        if (bytes.Length != t.ElementCount * 4) throw Fail($"tensor '{t.Name}' has {bytes.Length} bytes of data for [{Dims(t)}] float32");
        var values = new float[t.ElementCount];
        bytes.AsSpan().CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        return (t, values);
    }

    float[] Bias(TfliteOperator op, int slot, int channels)
    {
        if (op.Inputs.Length <= slot || op.Inputs[slot] < 0) return new float[channels];
        var (t, values) = Weights(op.Inputs[slot]);
        return values.Length == channels ? values : throw Fail($"bias '{t.Name}' has {values.Length} values for {channels} channels");
    }

    // A constant operand of ADD/MUL, laid out for NCHW broadcasting: [1,H,W,C] -> [1,C,H,W], [C] -> [C,1,1].
    string Constant(int index, string name)
    {
        var (t, v) = Weights(index);
        Parameters += v.Length;
        switch (t.Shape)
        {
            case []:
                return g.Weight(name, v);
            case [var c]:
                return g.Weight(name, v, c, 1, 1);
            case [var n, var h, var w, var c]:
                var nchw = new float[v.Length];
                for (int i = 0; i < n; i++)
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                            for (int ch = 0; ch < c; ch++)
                                nchw[((i * c + ch) * h + y) * w + x] = v[((i * h + y) * w + x) * c + ch];
                return g.Weight(name, nchw, n, c, h, w);
            default:
                throw Fail($"constant '{t.Name}' is [{Dims(t)}]; only scalars, per-channel vectors and 4-d constants import");
        }
    }

    int[] Ints(int index)
    {
        var t = Tensor(index);
        if (!IsConstant(index) || t.Type != TfliteTensorType.Int32) throw Fail($"tensor '{t.Name}' should be a constant int32 tensor");
        var bytes = model.Buffers[t.Buffer];
        if (bytes.Length != t.ElementCount * 4) throw Fail($"tensor '{t.Name}' has {bytes.Length} bytes of data for [{Dims(t)}] int32");
        return MemoryMarshal.Cast<byte, int>(bytes).ToArray();
    }

    void CheckFloat(TfliteTensor t)
    {
        if (t.Type != TfliteTensorType.Float32)
            throw Fail($"tensor '{t.Name}' is {t.Type}; the importer reads float32 models only (not quantised or float16 ones)");
    }

    static string Dims(TfliteTensor t) => string.Join(",", t.Shape);

    InvalidDataException Fail(string why) => new($"{model.Source}: {why}.");
}
