using System.Buffers.Binary;
using MobileUNet.Export.Tflite;

namespace MobileUNet.Tests;

/// <summary>
/// A direct float64 interpreter of the TFLite ops the importer supports, in TFLite's own NHWC layout and weight
/// layouts, written from the TFLite reference kernels' definitions (SAME padding, ResizeBilinear's coordinate
/// rules, transposed convolution as a scatter). It shares only the flatbuffer reader with the importer, so it
/// checks the conversion (layouts, pads, fused activations, broadcasting) independently of ONNX.
/// </summary>
sealed class TfliteReferenceInterpreter(TfliteModel model)
{
    readonly TfliteSubgraph graph = model.Subgraphs[0];

    sealed record T(int[] Shape, double[] V)
    {
        public int H => Shape[1];
        public int W => Shape[2];
        public int C => Shape[3];
        public double this[int y, int x, int c] => V[(y * W + x) * C + c];
    }

    /// <summary>Runs one NHWC image [1,S,S,3] and returns the output tensor's values (NHWC).</summary>
    public double[] Run(double[] nhwc)
    {
        var tensors = new Dictionary<int, T>();
        T Get(int i)
        {
            if (tensors.TryGetValue(i, out var t)) return t;
            var info = graph.Tensors[i];
            var bytes = model.Buffers[info.Buffer];
            var values = info.Type switch
            {
                TfliteTensorType.Float32 => Enumerable.Range(0, bytes.Length / 4).Select(k => (double)BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(4 * k))).ToArray(),
                TfliteTensorType.Float16 => Enumerable.Range(0, bytes.Length / 2).Select(k => (double)BinaryPrimitives.ReadHalfLittleEndian(bytes.AsSpan(2 * k))).ToArray(),
                TfliteTensorType.Int32 => Enumerable.Range(0, bytes.Length / 4).Select(k => (double)BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4 * k))).ToArray(),
                _ => throw new NotSupportedException(info.Type.ToString()),
            };
            return tensors[i] = new T(info.Shape, values);
        }

        tensors[graph.Inputs[0]] = new T(graph.Tensors[graph.Inputs[0]].Shape, nhwc);
        foreach (var op in graph.Operators)
        {
            var code = model.OperatorCodes[op.OpcodeIndex];
            var outShape = graph.Tensors[op.Outputs[0]].Shape;
            T x = Get(op.Inputs[0]);
            T y = (TfliteBuiltin)code.Builtin switch
            {
                TfliteBuiltin.Dequantize => x with { },
                TfliteBuiltin.Conv2D => Conv(x, Get(op.Inputs[1]), Bias(op, Get), outShape, (Conv2DOptions)op.Options!),
                TfliteBuiltin.DepthwiseConv2D => Depthwise(x, Get(op.Inputs[1]), Bias(op, Get), outShape, (DepthwiseConv2DOptions)op.Options!),
                TfliteBuiltin.AveragePool2D => AveragePool(x, outShape, (Pool2DOptions)op.Options!),
                TfliteBuiltin.Add => Broadcast(x, Get(op.Inputs[1]), outShape, (a, b) => a + b, ((ActivationOptions)op.Options!).Activation),
                TfliteBuiltin.Mul => Broadcast(x, Get(op.Inputs[1]), outShape, (a, b) => a * b, ((ActivationOptions)op.Options!).Activation),
                TfliteBuiltin.Mean => Mean(x, Get(op.Inputs[1]), outShape),
                TfliteBuiltin.ResizeBilinear => ResizeBilinear(x, outShape, (ResizeBilinearOptions)op.Options!),
                TfliteBuiltin.HardSwish => Map(x, v => v * Math.Min(Math.Max(v + 3, 0), 6) / 6),
                TfliteBuiltin.Relu => Map(x, v => Math.Max(v, 0)),
                TfliteBuiltin.Logistic => Map(x, v => 1 / (1 + Math.Exp(-v))),
                TfliteBuiltin.Custom when code.CustomCode == "Convolution2DTransposeBias" => TransposeConv(x, Get(op.Inputs[1]), Get(op.Inputs[2]), outShape, op.CustomOptions),
                _ => throw new NotSupportedException(code.Name),
            };
            tensors[op.Outputs[0]] = y;
        }
        return tensors[graph.Outputs[0]].V;
    }

    static T? Bias(TfliteOperator op, Func<int, T> get) => op.Inputs.Length > 2 && op.Inputs[2] >= 0 ? get(op.Inputs[2]) : null;

    static double Act(double v, TfliteActivation a) => a switch
    {
        TfliteActivation.None => v,
        TfliteActivation.Relu => Math.Max(v, 0),
        TfliteActivation.Relu6 => Math.Clamp(v, 0, 6),
        TfliteActivation.ReluN1To1 => Math.Clamp(v, -1, 1),
        TfliteActivation.Tanh => Math.Tanh(v),
        _ => throw new NotSupportedException(a.ToString()),
    };

    static T Map(T x, Func<double, double> f) => new(x.Shape, x.V.Select(f).ToArray());

    // TFLite's SAME: the padding before is half the total, rounded down.
    static int PadBefore(TflitePadding padding, int inSize, int outSize, int stride, int kernel, int dilation) =>
        padding == TflitePadding.Valid ? 0 : Math.Max((outSize - 1) * stride + (kernel - 1) * dilation + 1 - inSize, 0) / 2;

    static T Conv(T x, T w, T? bias, int[] outShape, Conv2DOptions o)
    {
        int oh = outShape[1], ow = outShape[2], cout = w.Shape[0], kh = w.Shape[1], kw = w.Shape[2], cin = w.Shape[3];
        int pt = PadBefore(o.Padding, x.H, oh, o.StrideH, kh, o.DilationH), pl = PadBefore(o.Padding, x.W, ow, o.StrideW, kw, o.DilationW);
        var v = new double[oh * ow * cout];
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++)
                for (int co = 0; co < cout; co++)
                {
                    double sum = bias?.V[co] ?? 0;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int iy = y * o.StrideH + ky * o.DilationH - pt, ix = xx * o.StrideW + kx * o.DilationW - pl;
                            if (iy < 0 || iy >= x.H || ix < 0 || ix >= x.W) continue;
                            for (int ci = 0; ci < cin; ci++) sum += x[iy, ix, ci] * w.V[((co * kh + ky) * kw + kx) * cin + ci];
                        }
                    v[(y * ow + xx) * cout + co] = Act(sum, o.Activation);
                }
        return new T(outShape, v);
    }

    static T Depthwise(T x, T w, T? bias, int[] outShape, DepthwiseConv2DOptions o)
    {
        int oh = outShape[1], ow = outShape[2], kh = w.Shape[1], kw = w.Shape[2], cout = w.Shape[3], m = cout / x.C;
        int pt = PadBefore(o.Padding, x.H, oh, o.StrideH, kh, o.DilationH), pl = PadBefore(o.Padding, x.W, ow, o.StrideW, kw, o.DilationW);
        var v = new double[oh * ow * cout];
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++)
                for (int ci = 0; ci < x.C; ci++)
                    for (int j = 0; j < m; j++)
                    {
                        int co = ci * m + j;
                        double sum = bias?.V[co] ?? 0;
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = y * o.StrideH + ky * o.DilationH - pt, ix = xx * o.StrideW + kx * o.DilationW - pl;
                                if (iy < 0 || iy >= x.H || ix < 0 || ix >= x.W) continue;
                                sum += x[iy, ix, ci] * w.V[(ky * kw + kx) * cout + co];
                            }
                        v[(y * ow + xx) * cout + co] = Act(sum, o.Activation);
                    }
        return new T(outShape, v);
    }

    static T AveragePool(T x, int[] outShape, Pool2DOptions o)
    {
        int oh = outShape[1], ow = outShape[2], c = x.C;
        int pt = PadBefore(o.Padding, x.H, oh, o.StrideH, o.FilterH, 1), pl = PadBefore(o.Padding, x.W, ow, o.StrideW, o.FilterW, 1);
        var v = new double[oh * ow * c];
        for (int y = 0; y < oh; y++)
            for (int xx = 0; xx < ow; xx++)
                for (int ch = 0; ch < c; ch++)
                {
                    double sum = 0;
                    int n = 0;
                    for (int ky = 0; ky < o.FilterH; ky++)
                        for (int kx = 0; kx < o.FilterW; kx++)
                        {
                            int iy = y * o.StrideH + ky - pt, ix = xx * o.StrideW + kx - pl;
                            if (iy < 0 || iy >= x.H || ix < 0 || ix >= x.W) continue;
                            sum += x[iy, ix, ch];
                            n++;
                        }
                    v[(y * ow + xx) * c + ch] = Act(sum / n, o.Activation);
                }
        return new T(outShape, v);
    }

    // NumPy broadcasting over NHWC, shapes aligned from the last axis.
    static T Broadcast(T a, T b, int[] outShape, Func<double, double, double> f, TfliteActivation activation)
    {
        int rank = outShape.Length;
        long total = outShape.Aggregate(1L, (n, d) => n * d);
        var v = new double[total];
        var index = new int[rank];
        for (long i = 0; i < total; i++)
        {
            long r = i;
            for (int d = rank - 1; d >= 0; d--) { index[d] = (int)(r % outShape[d]); r /= outShape[d]; }
            v[i] = Act(f(a.V[Offset(a.Shape, index)], b.V[Offset(b.Shape, index)]), activation);
        }
        return new T(outShape, v);
    }

    static int Offset(int[] shape, int[] index)
    {
        int offset = 0, skip = index.Length - shape.Length;
        for (int d = 0; d < shape.Length; d++) offset = offset * shape[d] + (shape[d] == 1 ? 0 : index[d + skip]);
        return offset;
    }

    static T Mean(T x, T axes, int[] outShape)
    {
        var reduce = axes.V.Select(a => ((int)a + 4) % 4).ToHashSet();
        var sums = new double[outShape.Aggregate(1, (n, d) => n * d)];
        int count = reduce.Aggregate(1, (n, d) => n * x.Shape[d]);
        var index = new int[4];
        for (int i = 0; i < x.V.Length; i++)
        {
            int r = i;
            for (int d = 3; d >= 0; d--) { index[d] = r % x.Shape[d]; r /= x.Shape[d]; }
            int o = 0;
            for (int d = 0; d < 4; d++) o = o * (reduce.Contains(d) ? 1 : x.Shape[d]) + (reduce.Contains(d) ? 0 : index[d]);
            sums[o] += x.V[i];
        }
        return new T(outShape, sums.Select(s => s / count).ToArray());
    }

    // tensorflow/lite/kernels/internal/reference ResizeBilinear: scaled coordinate, lower bound clamped at 0,
    // upper bound at size - 1, weights from the unclamped coordinate.
    static T ResizeBilinear(T x, int[] outShape, ResizeBilinearOptions o)
    {
        int oh = outShape[1], ow = outShape[2], c = x.C;
        double sy = o.AlignCorners && oh > 1 ? (x.H - 1.0) / (oh - 1) : (double)x.H / oh;
        double sx = o.AlignCorners && ow > 1 ? (x.W - 1.0) / (ow - 1) : (double)x.W / ow;
        var v = new double[oh * ow * c];
        for (int y = 0; y < oh; y++)
        {
            double iy = o.HalfPixelCenters ? (y + 0.5) * sy - 0.5 : y * sy;
            int y0 = Math.Max((int)Math.Floor(iy), 0), y1 = Math.Min((int)Math.Ceiling(iy), x.H - 1);
            for (int xx = 0; xx < ow; xx++)
            {
                double ix = o.HalfPixelCenters ? (xx + 0.5) * sx - 0.5 : xx * sx;
                int x0 = Math.Max((int)Math.Floor(ix), 0), x1 = Math.Min((int)Math.Ceiling(ix), x.W - 1);
                double dy = iy - y0, dx = ix - x0;
                for (int ch = 0; ch < c; ch++)
                    v[(y * ow + xx) * c + ch] = x[y0, x0, ch] * (1 - dy) * (1 - dx) + x[y1, x0, ch] * dy * (1 - dx)
                                              + x[y0, x1, ch] * (1 - dy) * dx + x[y1, x1, ch] * dy * dx;
            }
        }
        return new T(outShape, v);
    }

    // Each input pixel scatters its kernel into the output at stride steps, shifted up-left by the padding.
    static T TransposeConv(T x, T w, T bias, int[] outShape, byte[] options)
    {
        int padding = BinaryPrimitives.ReadInt32LittleEndian(options), strideW = BinaryPrimitives.ReadInt32LittleEndian(options.AsSpan(4)),
            strideH = BinaryPrimitives.ReadInt32LittleEndian(options.AsSpan(8));
        int oh = outShape[1], ow = outShape[2], cout = w.Shape[0], kh = w.Shape[1], kw = w.Shape[2], cin = w.Shape[3];
        int pt = padding == 2 ? 0 : Math.Max((x.H - 1) * strideH + kh - oh, 0) / 2;
        int pl = padding == 2 ? 0 : Math.Max((x.W - 1) * strideW + kw - ow, 0) / 2;
        var v = new double[oh * ow * cout];
        for (int i = 0; i < oh * ow; i++)
            for (int co = 0; co < cout; co++) v[i * cout + co] = bias.V[co];
        for (int y = 0; y < x.H; y++)
            for (int xx = 0; xx < x.W; xx++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                    {
                        int oy = y * strideH + ky - pt, ox = xx * strideW + kx - pl;
                        if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                        for (int co = 0; co < cout; co++)
                        {
                            double sum = 0;
                            for (int ci = 0; ci < cin; ci++) sum += x[y, xx, ci] * w.V[((co * kh + ky) * kw + kx) * cin + ci];
                            v[(oy * ow + ox) * cout + co] += sum;
                        }
                    }
        return new T(outShape, v);
    }
}
