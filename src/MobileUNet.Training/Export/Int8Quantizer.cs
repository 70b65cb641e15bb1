using Google.Protobuf;
using MobileUNet.Inference;
using MobileUNet.Model;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace MobileUNet.Export;

/// <summary>
/// Static int8 quantisation of an fp32 export in QDQ form (QuantizeLinear/DequantizeLinear pairs that ONNX Runtime
/// fuses into integer kernels). Weights: int8, symmetric, per output channel; biases int32 at input scale x weight
/// scale. Activations: uint8, per tensor, min/max calibrated by running the fp32 model in ONNX Runtime.
/// The whole graph is quantised, not just the convolutions: DESIGN.md section 3 measured that float islands
/// (transposed convs, concats) cost more than int8 saves. Each Concat shares one scale with all its inputs so it
/// needs no requantisation; a Conv followed by ReLU6 gets its activation Q after the Clip, with a range inside
/// [0, 6], so ONNX Runtime can drop the Clip and fuse Conv + Q.
/// </summary>
static class Int8Quantizer
{
    readonly record struct QParams(float Scale, byte ZeroPoint);

    public static ModelProto Quantize(ModelProto fp32, Int8Calibration calibration, ModelSpec spec)
    {
        if (calibration.Images.Count == 0)
            calibration = Int8Calibration.Default(spec.InputSize);
        int expected = 3 * spec.InputSize * spec.InputSize;
        if (calibration.Images.FirstOrDefault(i => i.Length != expected) is { } wrong)
            throw new ArgumentException($"calibration images from {calibration.Source} hold {wrong.Length} values, but the model takes 3 x {spec.InputSize} x {spec.InputSize} = {expected}.");
        var ranges = Calibrate(fp32, calibration);
        var model = fp32.Clone();
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        var producers = graph.Node.SelectMany(n => n.Output.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        var consumers = graph.Node.SelectMany(n => n.Input.Select(i => (i, n))).ToLookup(p => p.i, p => p.n);

        // Which activations carry a Q/DQ pair: the image, and every op output except a Conv that feeds a Clip
        // (Conv + Clip + Q becomes one integer conv) and the Identity/Cast that names the graph output.
        var quantised = new List<string> { OnnxExporter.InputName };
        foreach (var node in graph.Node)
        {
            var output = node.Output[0];
            bool fusedIntoClip = node.OpType == "Conv" && consumers[output].All(c => c.OpType == "Clip");
            if (!fusedIntoClip && node.OpType is "Conv" or "ConvTranspose" or "Clip" or "Concat" or "Resize" or "Sigmoid" or "DepthToSpace") quantised.Add(output);
        }

        // Tensors joined by a shape-only op (DepthToSpace) share one scale (union-find over tensor names). Concat
        // keeps one scale per tensor: ONNX Runtime fuses DQ -> Concat -> Q into QLinearConcat either way (it
        // requantises per input), and a scale shared with the up-conv's signed output would push the ReLU6 skip
        // tensors into a signed range, keep their Clip alive and leave four convs in float (measured: 4 FusedConv
        // and 12 more Q/DQ nodes at alpha 0.5 / 128, no faster).
        var parent = quantised.ToDictionary(t => t, t => t);
        string Find(string t) => parent[t] == t ? t : parent[t] = Find(parent[t]);
        foreach (var node in graph.Node.Where(n => n.OpType == "DepthToSpace"))
            foreach (var input in node.Input) parent[Find(input)] = Find(node.Output[0]);
        var groupRange = new Dictionary<string, (float Min, float Max, bool AllRelu6)>();
        foreach (var t in quantised)
        {
            var (min, max) = ranges[t];
            bool relu6 = producers.TryGetValue(t, out var p) && p.OpType == "Clip";
            var root = Find(t);
            groupRange[root] = groupRange.TryGetValue(root, out var g) ? (Math.Min(g.Min, min), Math.Max(g.Max, max), g.AllRelu6 && relu6) : (min, max, relu6);
        }
        var qparams = quantised.ToDictionary(t => t, t =>
        {
            var (min, max, allRelu6) = groupRange[Find(t)];
            if (allRelu6) { min = 0; max = Math.Min(max, 6f); }
            return Choose(min, max);
        });

        var nodes = new List<NodeProto>();
        var rename = new Dictionary<string, string>();
        void AddQdq(string tensor)
        {
            var q = qparams[tensor];
            var scale = Add(graph, Tensors.Float(tensor + "_scale", [q.Scale]));
            var zero = Add(graph, Tensors.Uint8(tensor + "_zero_point", [q.ZeroPoint]));
            nodes.Add(Node("QuantizeLinear", tensor + "_Q", [tensor, scale, zero], tensor + "_q"));
            nodes.Add(Node("DequantizeLinear", tensor + "_DQ", [tensor + "_q", scale, zero], tensor + "_dq"));
            rename[tensor] = tensor + "_dq";
        }

        AddQdq(OnnxExporter.InputName);
        foreach (var node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
                if (rename.TryGetValue(node.Input[i], out var dq)) node.Input[i] = dq;
            if (node.OpType is "Conv" or "ConvTranspose")
            {
                // The activation input is already a DQ output; its scale sets the bias scale.
                var input = node.Input[0][..^"_dq".Length];
                QuantizeWeights(graph, nodes, node, initializers, qparams[input].Scale, outputAxis: node.OpType == "Conv" ? 0 : 1);
            }
            nodes.Add(node);
            if (qparams.ContainsKey(node.Output[0])) AddQdq(node.Output[0]);
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        var used = nodes.SelectMany(n => n.Input).ToHashSet();
        var unused = graph.Initializer.Where(t => !used.Contains(t.Name)).ToList();
        foreach (var t in unused) graph.Initializer.Remove(t);

        var precision = model.MetadataProps.First(p => p.Key == OnnxMetadata.PrecisionKey);
        precision.Value = OnnxPrecision.Int8.ToString();
        model.MetadataProps.Add(new StringStringEntryProto { Key = "mobileunet.calibration", Value = calibration.Source });
        return model;
    }

    static QParams Choose(float min, float max)
    {
        // The range must hold 0 exactly (zero padding and ReLU zeros are exact in integers).
        min = Math.Min(min, 0f);
        max = Math.Max(max, 0f);
        float scale = (max - min) / 255f;
        if (scale <= 0 || !float.IsFinite(scale)) return new QParams(1f / 255f, 0);
        byte zero = (byte)Math.Clamp(Math.Round(-min / scale), 0, 255);
        return new QParams(scale, zero);
    }

    static void QuantizeWeights(GraphProto graph, List<NodeProto> nodes, NodeProto conv, Dictionary<string, TensorProto> initializers, float inputScale, int outputAxis)
    {
        var weight = initializers[conv.Input[1]];
        var values = Floats(weight);
        var dims = weight.Dims.ToArray();
        long channels = dims[outputAxis];
        long inner = dims.Skip(outputAxis + 1).Aggregate(1L, (a, b) => a * b);
        long outer = dims.Take(outputAxis).Aggregate(1L, (a, b) => a * b);
        var scales = new float[channels];
        for (long o = 0; o < outer; o++)
            for (long c = 0; c < channels; c++)
                for (long i = 0; i < inner; i++)
                    scales[c] = Math.Max(scales[c], Math.Abs(values[(o * channels + c) * inner + i]));
        for (int c = 0; c < channels; c++) scales[c] = scales[c] > 0 ? scales[c] / 127f : 1f;
        var q = new sbyte[values.Length];
        for (long o = 0; o < outer; o++)
            for (long c = 0; c < channels; c++)
                for (long i = 0; i < inner; i++)
                {
                    long k = (o * channels + c) * inner + i;
                    q[k] = (sbyte)Math.Clamp(Math.Round(values[k] / scales[c]), -127, 127);
                }
        var name = weight.Name;
        var wq = Add(graph, Tensors.Int8(name + "_q", q, dims));
        var ws = Add(graph, Tensors.Float(name + "_scale", scales, channels));
        var wz = Add(graph, Tensors.Int8(name + "_zero_point", new sbyte[channels], channels));
        nodes.Add(Node("DequantizeLinear", name + "_DQ", [wq, ws, wz], name + "_dq", Tensors.Int("axis", outputAxis)));
        conv.Input[1] = name + "_dq";

        if (conv.Input.Count > 2)
        {
            var bias = Floats(initializers[conv.Input[2]]);
            var biasScales = scales.Select(s => s * inputScale).ToArray();
            var bq = bias.Select((b, c) => (int)Math.Clamp(Math.Round(b / biasScales[c]), int.MinValue + 1, int.MaxValue)).ToArray();
            var bname = conv.Input[2];
            var bqn = Add(graph, Tensors.Int32(bname + "_q", bq, bias.Length));
            var bsn = Add(graph, Tensors.Float(bname + "_scale", biasScales, bias.Length));
            var bzn = Add(graph, Tensors.Int32(bname + "_zero_point", new int[bias.Length], bias.Length));
            nodes.Add(Node("DequantizeLinear", bname + "_DQ", [bqn, bsn, bzn], bname + "_dq", Tensors.Int("axis", 0)));
            conv.Input[2] = bname + "_dq";
        }
    }

    /// <summary>Runs the fp32 graph over the calibration images with every activation exposed; returns each one's min and max.</summary>
    static Dictionary<string, (float Min, float Max)> Calibrate(ModelProto fp32, Int8Calibration calibration)
    {
        var probe = fp32.Clone();
        var existing = probe.Graph.Output.Select(o => o.Name).ToHashSet();
        var names = probe.Graph.Node.Where(n => n.OpType != "Identity").Select(n => n.Output[0]).Where(o => !existing.Contains(o)).ToList();
        foreach (var name in names)
            probe.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)OnnxElementType.Float } } });
        names.Add(OnnxExporter.InputName);

        // Unfused, so that every activation the quantizer will wrap is seen; otherwise the usual session settings.
        using var options = new RuntimeOptions { GraphOptimization = GraphOptimizationLevel.ORT_DISABLE_ALL }.CreateSessionOptions();
        using var session = new InferenceSession(probe.ToByteArray(), options);
        var outputNames = session.OutputMetadata.Keys.ToList();
        var ranges = names.ToDictionary(n => n, _ => (Min: float.PositiveInfinity, Max: float.NegativeInfinity));
        var dims = session.InputMetadata[OnnxExporter.InputName].Dimensions;
        long[] shape = [1, dims[1], dims[2], dims[3]];
        using var runOptions = new RunOptions();
        foreach (var image in calibration.Images)
        {
            using var input = OrtValue.CreateTensorValueFromMemory(image, shape);
            using var outputs = session.Run(runOptions, [OnnxExporter.InputName], [input], outputNames);
            for (int i = 0; i < outputNames.Count; i++)
                if (ranges.ContainsKey(outputNames[i])) Accumulate(ranges, outputNames[i], outputs[i].GetTensorDataAsSpan<float>());
            Accumulate(ranges, OnnxExporter.InputName, image);
        }
        return ranges;
    }

    static void Accumulate(Dictionary<string, (float Min, float Max)> ranges, string name, ReadOnlySpan<float> values)
    {
        var (min, max) = ranges[name];
        foreach (var v in values) { if (v < min) min = v; if (v > max) max = v; }
        ranges[name] = (min, max);
    }

    static float[] Floats(TensorProto t) =>
        t.DataType == (int)OnnxElementType.Float ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray()
            : throw new InvalidOperationException($"{t.Name}: expected a float32 initializer.");

    static string Add(GraphProto graph, TensorProto t)
    {
        graph.Initializer.Add(t);
        return t.Name;
    }

    static NodeProto Node(string op, string name, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        n.Attribute.AddRange(attributes);
        return n;
    }
}
